// keyward's small client-side helpers. Loaded as a file (the CSP forbids inline scripts); every
// page works without it, htmx and this only make actions happen in place.
(function () {
  "use strict";

  // Toasts dismiss themselves after a while, or on their close button.
  function arm(toast) {
    if (toast.dataset.armed) return;
    toast.dataset.armed = "1";
    setTimeout(function () { toast.remove(); }, 8000);
  }
  document.addEventListener("click", function (event) {
    var close = event.target.closest(".toast-close");
    if (close) close.closest(".toast").remove();
  });
  document.addEventListener("htmx:afterSwap", function () {
    document.querySelectorAll("#toasts .toast").forEach(arm);
  });

  // A network failure gets a toast too, rather than silence.
  document.addEventListener("htmx:sendError", function () {
    var box = document.getElementById("toasts");
    if (!box) return;
    var toast = document.createElement("div");
    toast.className = "toast toast-error";
    toast.setAttribute("role", "alert");
    toast.textContent = "The server could not be reached. Nothing was changed.";
    box.appendChild(toast);
    arm(toast);
  });
})();
