// The list of films: deleting one asks first (a copy is harmless and needs no question).
"use strict";

document.querySelectorAll("form.delete-project").forEach((form) => {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(`Delete “${form.dataset.title}” with its shots and film? This cannot be undone.`)) {
      event.preventDefault();
    }
  });
});
