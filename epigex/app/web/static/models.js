// Models: activate one (a write: it sends the token).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("button.activate").forEach((b) => b.addEventListener("click", async () => {
    const err = b.parentElement.querySelector(".error");
    err.textContent = "";
    try {
      await epigex.send("POST", `/models/${encodeURIComponent(b.dataset.model)}/activate`);
      window.location.reload();
    } catch (e) { err.textContent = e.message; }
  }));
});
