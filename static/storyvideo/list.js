// The list of films: deleting one asks first (a copy is harmless and needs no question).
"use strict";

const gettext = window.gettext || ((text) => text);

document.querySelectorAll("form.delete-project").forEach((form) => {
  form.addEventListener("submit", (event) => {
    const question = gettext("Delete “%(title)s” with its shots and film? This cannot be undone.");
    if (!window.confirm(question.replace("%(title)s", form.dataset.title))) {
      event.preventDefault();
    }
  });
});
