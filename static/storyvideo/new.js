// The new-film form: a live count of the story's characters against the limit. Nothing is
// ever cut: a story over the limit stays whole in the box and the count says by how much.
"use strict";

// After a refused submit, the first field in error has the focus (its error is read with it).
document.querySelector(".has-error input, .has-error textarea, .has-error select")?.focus();

(function () {
  const story = document.getElementById("id_story");
  const counter = document.getElementById("story-count");
  if (!story || !counter) return;
  const limit = Number(story.dataset.maxChars);
  const gettext = window.gettext || ((text) => text);
  const say = (format, values) => format.replace(/%\((\w+)\)s/g, (_, key) => String(values[key]));
  const number = new Intl.NumberFormat(document.documentElement.lang || undefined);

  function count() {
    // Characters as the server counts them (code points, so a CJK or emoji character is one).
    const length = Array.from(story.value).length;
    const over = length - limit;
    const counts = { length: number.format(length), limit: number.format(limit), over: number.format(over) };
    counter.textContent =
      over > 0
        ? say(gettext("%(length)s of %(limit)s characters: %(over)s too many. Shorten the story or make two films of it."), counts)
        : say(gettext("%(length)s of %(limit)s characters"), counts);
    counter.dataset.over = String(over > 0);
    if (over > 0) story.setAttribute("aria-invalid", "true");
  }

  story.setAttribute("aria-describedby", ["story-count", story.getAttribute("aria-describedby")].filter(Boolean).join(" "));
  story.addEventListener("input", count);
  count();
})();
