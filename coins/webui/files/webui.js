// The DockerCoins dashboard: polls "json" (a relative URL) every second and
// draws the mining speed (hashes per second) as an area graph in SVG.
(function () {
  "use strict";

  var POLL_MS = 1000;
  var SAMPLES = 250;
  var WIDTH = 900, HEIGHT = 320;
  var LEFT = 50, RIGHT = 10, TOP = 10, BOTTOM = 25;
  var SVGNS = "http://www.w3.org/2000/svg";

  var graph = document.getElementById("graph");
  var grid = document.getElementById("grid");
  var area = document.getElementById("area");
  var line = document.getElementById("line");
  var speedText = document.getElementById("speed");
  var coinsText = document.getElementById("coins");

  var samples = []; // hashes per second, oldest first
  var previous = null; // last {hashes, now} seen

  // niceMax rounds the top of the y axis up to 1, 2 or 5 times a power of 10.
  function niceMax(v) {
    if (v <= 1) { return 1; }
    var p = Math.pow(10, Math.floor(Math.log(v) / Math.LN10));
    var steps = [1, 2, 5, 10];
    for (var i = 0; i < steps.length; i++) {
      if (steps[i] * p >= v) { return steps[i] * p; }
    }
    return 10 * p;
  }

  function el(name, attrs, text) {
    var e = document.createElementNS(SVGNS, name);
    for (var k in attrs) { e.setAttribute(k, attrs[k]); }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  function draw() {
    var plotW = WIDTH - LEFT - RIGHT, plotH = HEIGHT - TOP - BOTTOM;
    var base = TOP + plotH;
    var max = niceMax(Math.max.apply(null, samples.concat([0])));
    var step = plotW / (SAMPLES - 1);
    var x = function (i) { return LEFT + plotW - (samples.length - 1 - i) * step; };
    var y = function (v) { return base - (v / max) * plotH; };

    while (grid.firstChild) { grid.removeChild(grid.firstChild); }
    for (var g = 0; g <= 4; g++) {
      var v = max * g / 4, gy = y(v);
      grid.appendChild(el("line", { x1: LEFT, x2: LEFT + plotW, y1: gy, y2: gy }));
      grid.appendChild(el("text", { x: LEFT - 6, y: gy + 4, "text-anchor": "end" }, String(+v.toFixed(2))));
    }
    grid.appendChild(el("text", { x: LEFT + plotW, y: HEIGHT - 6, "text-anchor": "end" },
      "last " + SAMPLES + " samples, one per second"));

    if (samples.length < 2) { return; }
    var pts = [];
    for (var i = 0; i < samples.length; i++) {
      pts.push(x(i).toFixed(1) + "," + y(samples[i]).toFixed(1));
    }
    line.setAttribute("d", "M" + pts.join(" L"));
    area.setAttribute("d", "M" + x(0).toFixed(1) + "," + base + " L" + pts.join(" L") +
      " L" + x(samples.length - 1).toFixed(1) + "," + base + " Z");
    graph.setAttribute("data-samples", String(samples.length));
  }

  function update(st) {
    coinsText.textContent = "Coins mined: " + st.coins;
    speedText.className = "";
    if (st.hashes === null) {
      speedText.textContent = "Current mining speed: waiting for a worker...";
      return;
    }
    var hashes = Number(st.hashes);
    if (previous !== null && st.now <= previous.now) {
      return; // an answer that overtook this one was already counted
    }
    if (previous !== null) {
      // A reset counter (e.g. Redis restarted) would read as negative.
      var speed = Math.max(0, (hashes - previous.hashes) / (st.now - previous.now));
      samples.push(speed);
      if (samples.length > SAMPLES) { samples.shift(); }
      speedText.textContent = "Current mining speed: ~" + speed.toFixed(1) + " hashes/second";
      draw();
    }
    previous = { hashes: hashes, now: st.now };
  }

  function poll() {
    fetch("json", { cache: "no-store" })
      .then(function (r) {
        if (!r.ok) { throw new Error("json: HTTP " + r.status); }
        return r.json();
      })
      .then(update)
      .catch(function (err) {
        speedText.className = "error";
        speedText.textContent = "Current mining speed: unknown (" + err.message + ")";
      });
  }

  draw();
  poll();
  setInterval(poll, POLL_MS);
})();
