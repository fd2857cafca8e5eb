// brainmri QC page: open a scan and its overlay in NiiVue (bundled; the data come from <stem>.js files).
(function () {
  "use strict";
  let nv = null;
  const box = document.getElementById("viewer");
  function load(src) {
    return new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = src; s.onload = resolve; s.onerror = () => reject(new Error("cannot load " + src));
      document.head.appendChild(s);
    });
  }
  async function open(row) {
    box.classList.add("open");
    document.getElementById("viewer-name").textContent = row.scan;
    const key = row.viewer.split("/").pop().replace(/\.js$/, "");
    const store = window.brainmriVolumes || {};
    if (!store[key]) await load(row.viewer);
    const entry = window.brainmriVolumes[key];
    if (!nv) {
      nv = new niivue.Niivue({ isRadiologicalConvention: false, isOrientationTextVisible: true, backColor: [0, 0, 0, 1],
        show3Dcrosshair: true, logLevel: "error" });
      await nv.attachToCanvas(document.getElementById("viewer-canvas"));
      nv.setSliceType(nv.sliceTypeMultiplanar);
    }
    while (nv.volumes.length) nv.removeVolume(nv.volumes[0]);
    const image = await niivue.NVImage.loadFromBase64({ base64: entry.image, name: entry.name + ".nii.gz" });
    nv.addVolume(image);
    if (entry.overlay) {
      const overlay = await niivue.NVImage.loadFromBase64({ base64: entry.overlay, name: "overlay.nii.gz",
        colormap: entry.colormap, opacity: entry.opacity, cal_min: entry.cal_min, cal_max: entry.cal_max });
      nv.addVolume(overlay);
    }
    if (entry.overlay) {  // centre the crosshair on the overlay, where the structure is
      const o = nv.volumes[1], dims = o.hdr.dims, img = o.img;
      let n = 0, sx = 0, sy = 0, sz = 0;
      for (let z = 0; z < dims[3]; z++) for (let y = 0; y < dims[2]; y++) for (let x = 0; x < dims[1]; x++) {
        const v = img[x + dims[1] * (y + dims[2] * z)];
        if (v > 0) { n += v; sx += x * v; sy += y * v; sz += z * v; }
      }
      if (n > 0) nv.scene.crosshairPos = nv.vox2frac([sx / n, sy / n, sz / n]);
    }
    nv.updateGLVolume();
    box.dataset.loaded = row.scan;
    return nv.volumes.length;
  }
  document.getElementById("viewer-close").addEventListener("click", () => box.classList.remove("open"));
  window.brainmriViewer = { open, get niivue() { return nv; } };
})();
