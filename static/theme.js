// Follows the system's light or dark preference: Tabler's colour modes key on data-bs-theme. Loaded in
// <head> before the styles apply (a file, as the CSP forbids inline scripts); without it the console is light.
(function () {
  "use strict";
  var query = window.matchMedia("(prefers-color-scheme: dark)");
  function apply() { document.documentElement.setAttribute("data-bs-theme", query.matches ? "dark" : "light"); }
  apply();
  query.addEventListener("change", apply);
})();
