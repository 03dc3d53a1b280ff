// Progressive enhancement only: every page works without this script.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // The company switch navigates on change.
  document.querySelectorAll("select[data-navigate]").forEach(function (s) {
    s.addEventListener("change", function () {
      window.location.href = s.dataset.navigate + encodeURIComponent(s.value) + "/";
    });
  });
  // Repeatable rows: "Add a row" copies the last row, renumbering its field names.
  document.querySelectorAll("fieldset[data-rows]").forEach(function (set) {
    var button = set.querySelector(":scope > .add-row");
    if (!button) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var rows = set.querySelectorAll(":scope > .row");
      var last = rows[rows.length - 1];
      var copy = last.cloneNode(true);
      var from = set.dataset.rows + "." + last.dataset.row + ".";
      var next = Number(last.dataset.row) + 1;
      var to = set.dataset.rows + "." + next + ".";
      copy.dataset.row = String(next);
      var whole = set.dataset.rows + "." + last.dataset.row;
      copy.querySelectorAll("[name]").forEach(function (el) {
        el.name = el.name === whole ? set.dataset.rows + "." + next : el.name.replace(from, to);
        el.value = "";
        el.removeAttribute("aria-invalid");
      });
      var oldId = "f-" + whole.replace(/[^A-Za-z0-9]/g, "-");
      var newId = "f-" + (set.dataset.rows + "." + next).replace(/[^A-Za-z0-9]/g, "-");
      var renumber = function (v) { return v === oldId || v.indexOf(oldId + "-") === 0 ? newId + v.slice(oldId.length) : v; };
      copy.querySelectorAll("[id]").forEach(function (el) { el.id = renumber(el.id); });
      copy.querySelectorAll("label[for]").forEach(function (el) { el.htmlFor = renumber(el.htmlFor); });
      copy.querySelectorAll(".field-error").forEach(function (el) { el.remove(); });
      last.after(copy);
      var first = copy.querySelector("input, select, textarea");
      if (first) first.focus();
    });
  });
  // After a submit, move focus to the first error or the result, for keyboard and
  // screen-reader users.
  var target = document.querySelector("[aria-invalid=true], #result-h");
  if (target) target.focus();
});
