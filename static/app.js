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

  // Copy buttons: copy the referenced field's value without showing it anywhere else.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var field = document.querySelector(button.getAttribute("data-copy"));
    if (!field) return;
    var done = function () { button.textContent = "Copied"; setTimeout(function () { button.textContent = "Copy"; }, 2000); };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(field.value).then(done, function () { field.select(); });
    } else {
      field.select();
    }
  });

  // "Add all": checks every box of the named field in the same form.
  document.addEventListener("change", function (event) {
    var all = event.target.closest("[data-check-all]");
    if (!all || !all.form) return;
    all.form.querySelectorAll('input[type="checkbox"][name="' + all.getAttribute("data-check-all") + '"]').forEach(function (box) {
      box.checked = all.checked;
    });
  });

  // A revealed key disappears after its time.
  function hideLater(root) {
    root.querySelectorAll("[data-hide-after]").forEach(function (box) {
      if (box.dataset.armed) return;
      box.dataset.armed = "1";
      setTimeout(function () {
        var note = document.createElement("p");
        note.className = "muted";
        note.textContent = "The key is hidden again. Reload the page to view it once more.";
        box.replaceWith(note);
      }, Number(box.getAttribute("data-hide-after")) * 1000);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { hideLater(document); });
  document.addEventListener("htmx:afterSwap", function (event) { hideLater(event.target.parentNode || document); });

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

// Upload progress: a <progress class="htmx-indicator"> inside an uploading form follows the bytes sent.
document.addEventListener("htmx:xhr:progress", function (event) {
  var form = event.target.closest && event.target.closest("form");
  var bar = form && document.getElementById("upload-progress");
  if (bar && event.detail.lengthComputable) {
    bar.value = Math.round((event.detail.loaded / event.detail.total) * 100);
  }
});
