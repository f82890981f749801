"""The chat page's style sheet and the script that makes citation links scroll the sources panel.

Out of scope: the page's structure and behaviour (see `ui`).
"""

CSS = """
.cite { font-weight: 600; text-decoration: none; }
.unsupported, .uncited { text-decoration: underline wavy #d97706; text-underline-offset: 3px; }
.check-columns { display: flex; gap: 1em; }
.check-column { flex: 1; min-width: 0; }
.check-contradicts { border-left: 4px solid #dc2626; }
.check-supports { border-left: 4px solid #16a34a; }
.finding { display: block; margin-bottom: .3em; }
.contradicted { text-decoration: line-through #dc2626; color: #b91c1c; }
.attributed .cite { font-style: italic; }
.answer-meta { margin-top: .5em; font-size: .8em; opacity: .75; }
.abstained-badge { font-weight: 600; color: #b45309; }
.src-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: .6em .8em; margin: .5em 0; }
.src-card.active { outline: 3px solid #f59e0b; background: rgba(245, 158, 11, .08); }
.src-card .abstract { font-size: .9em; }
.src-card .meta { font-size: .8em; opacity: .8; }
.comparison { border-collapse: collapse; font-size: .92em; }
.comparison th, .comparison td { border: 1px solid #ccc; padding: 4px 6px; vertical-align: top; text-align: left; }
.src-card .derived { font-size: .8em; opacity: .7; font-style: italic; }
.src-card mark { background: #fde68a; color: inherit; }
#sources-panel { max-height: 720px; overflow-y: auto !important; }
.closest { margin: .3em 0 0 1.2em; }
.link-text { font-family: ui-monospace, monospace; font-size: .95em; }
"""

# Citation links are handled here rather than by the browser, so that a click scrolls the sources
# panel (not the page) and highlights the card, opening an older turn's collapsed sources if needed.
HEAD = """<script>
document.addEventListener("click", (event) => {
  const link = event.target.closest && event.target.closest("a.cite, a[href^='#src-']");
  if (!link) return;
  event.preventDefault(); event.stopPropagation();
  const card = document.getElementById((link.getAttribute("href") || "").slice(1));
  if (!card) return;
  for (let d = card.closest("details"); d; d = d.parentElement.closest("details")) d.open = true;
  document.querySelectorAll(".src-card.active").forEach((c) => c.classList.remove("active"));
  card.classList.add("active");
  card.scrollIntoView({behavior: "smooth", block: "nearest"});
}, true);
</script>"""
