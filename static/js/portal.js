// The portal's small behaviours. No inline scripts anywhere (CSP): everything is wired here
// through classes and data attributes, and each feature works without JavaScript too.
(function () {
  "use strict";

  // "Select all" in a table header ticks every row of that table.
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (box.classList && box.classList.contains("select-all")) {
      var table = box.closest("table");
      table.querySelectorAll("input.select-row").forEach(function (row) { row.checked = box.checked; });
    }
  });

  // Typing into a picker's search box is not a change of the form being filled in.
  document.addEventListener("change", function (event) {
    if (event.target.classList && event.target.classList.contains("picker-search")) {
      event.stopPropagation();
    }
  }, true);

  // A choice that names the field it needs (data-reveals): only that field shows. Without
  // JavaScript every field shows, and the server ignores those not chosen.
  function revealChosen(choice) {
    choice.form.querySelectorAll("input[data-reveals][name='" + choice.name + "']").forEach(function (input) {
      var field = choice.form.querySelector(".field-" + input.value);
      if (field) { field.hidden = !input.checked; }
    });
  }
  document.querySelectorAll("input[data-reveals]:checked").forEach(revealChosen);
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("input[data-reveals]")) { revealChosen(event.target); }
  });

  // Copy buttons (a new password shown once).
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-copy-target]") : null;
    if (!button) { return; }
    var field = document.getElementById(button.getAttribute("data-copy-target"));
    var note = button.parentElement.querySelector(".copy-done");
    var done = function () { if (note) { note.textContent = "Copied."; } };
    field.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, function () { document.execCommand("copy"); done(); });
    } else {
      document.execCommand("copy");
      done();
    }
  });

  // A carrier account's form shows only the fields its chosen carrier uses (all of them without JavaScript).
  function showKindFields(select) {
    var form = select.closest("form");
    form.querySelectorAll("[data-kinds]").forEach(function (input) {
      var field = input.closest(".field");
      if (field) { field.hidden = input.getAttribute("data-kinds").split(" ").indexOf(select.value) === -1; }
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.classList && event.target.classList.contains("carrier-kind")) { showKindFields(event.target); }
  });
  function wireKinds() { document.querySelectorAll("select.carrier-kind").forEach(showKindFields); }
  document.addEventListener("DOMContentLoaded", wireKinds);
  document.addEventListener("htmx:afterSettle", wireKinds);
  // The header's "More" menu closes as a menu does: on a click elsewhere, and on Escape
  // (which gives the focus back to its summary).
  document.addEventListener("click", function (event) {
    document.querySelectorAll(".nav-more details[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) { menu.open = false; }
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    document.querySelectorAll(".nav-more details[open]").forEach(function (menu) {
      menu.open = false;
      menu.querySelector("summary").focus();
    });
  });
})();
