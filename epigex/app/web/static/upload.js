// Upload: one multipart request with XHR progress mapped onto each file, then the ingest job's progress.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("upload");
  const fileInputs = [...form.querySelectorAll("input[type=file]")];
  const formErr = document.getElementById("form-err");
  const clearErrors = () => { form.querySelectorAll(".error").forEach((e) => { e.textContent = ""; }); formErr.textContent = ""; };
  const showError = (detail) => {
    // the API names the form field at fault first ("DNase_bigwig (x.bw): …"); put the message beside it
    const field = (detail.match(/^([A-Za-z0-9]+_(?:bigwig|bed)|genes|labels)\b/) || [])[1];
    const target = field && document.getElementById(`${field}-err`);
    if (target) target.textContent = detail; else if (/\bname\b/.test(detail)) document.getElementById("name-err").textContent = detail;
    else formErr.textContent = detail;
  };
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    clearErrors();
    const data = new FormData();
    data.append("name", document.getElementById("name").value.trim());
    if (document.getElementById("replace").checked) data.append("replace", "true");
    const chosen = fileInputs.filter((i) => i.files.length);
    if (!chosen.length) { formErr.textContent = "choose at least one track file"; return; }
    let offset = 0;
    const spans = chosen.map((i) => { const f = i.files[0]; data.append(i.name, f, f.name); const s = [i.name, offset, f.size]; offset += f.size; return s; });
    spans.forEach(([name]) => { document.getElementById(`${name}-progress`).hidden = false; });
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/cell-lines");
    const token = epigex.token();
    if (token) xhr.setRequestHeader("Authorization", `Bearer ${token}`);
    xhr.upload.onprogress = (e) => {
      const sent = e.loaded * (offset / Math.max(e.total, 1));  // the files' share of the body
      spans.forEach(([name, start, size]) => {
        document.getElementById(`${name}-progress`).value = size ? Math.min(1, Math.max(0, (sent - start) / size)) : 1;
      });
    };
    xhr.onload = async () => {
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch (_) { body = { detail: xhr.responseText }; }
      if (xhr.status !== 202) { showError(body.detail || `${xhr.status}`); return; }
      spans.forEach(([name]) => { document.getElementById(`${name}-progress`).value = 1; });
      const box = document.getElementById("job");
      box.hidden = false;
      const job = await epigex.waitJob(body.job_id, (j) => {
        document.getElementById("job-progress").value = j.progress;
        document.getElementById("job-message").textContent = j.message || j.status;
      });
      if (job.status === "succeeded") window.location.assign(`/ui/cells/${encodeURIComponent(body.cell_line)}`);
      else showError(job.error || "the ingest failed");
    };
    xhr.onerror = () => showError("the upload was cut off; send it again");
    xhr.send(data);
  });
});
