// The preview page: the exports that carry the film's clips for an editor (made after the film,
// by a task of their own) turn into links once the clips are made.
(() => {
  "use strict";
  const list = document.querySelector(".downloads[data-project-id]");
  const pending = list ? [...list.querySelectorAll("[data-export]")] : [];
  if (!pending.length) return;

  let asked = 0;

  async function check() {
    asked += 1;
    try {
      const response = await fetch(`/api/v1/projects/${list.dataset.projectId}`, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      const body = response.ok ? await response.json() : {};
      if (body.render && body.render.clipsReady) {
        for (const item of pending) {
          const link = document.createElement("a");
          link.href = `/api/v1/projects/${list.dataset.projectId}/exports/${item.dataset.export}`;
          link.setAttribute("download", "");
          link.textContent = item.dataset.label;
          item.replaceWith(link);
        }
        return;
      }
    } catch (error) {
      // the network away for a moment: asked again
    }
    if (asked < 150) setTimeout(check, 2000); // five minutes; past them the clips wait for a new render
  }

  setTimeout(check, 1000);
})();
