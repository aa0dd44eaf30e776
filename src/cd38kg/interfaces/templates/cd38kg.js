/* cd38kg export page: draws the graph from the embedded JSON with vis-network.
 * Every piece of text from the knowledge base reaches the page through textContent or
 * canvas text, never through innerHTML. Positions come precomputed and physics is off,
 * so the picture is drawn once and stays still.
 * When drawn, the page writes a status report (JSON) into the hidden pre#cd38kg-status for tests;
 * window.cd38kg gives scripts the network, its data sets and the highlight groups. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("cd38kg-data").textContent);
  var container = document.getElementById("cd38kg-network");
  var DIM_NODE = 0.16;
  var DIM_EDGE = 0.1;
  var DIM_FONT = "#c4c4c4";

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null && text !== "") node.textContent = String(text);
    return node;
  }

  function supportLines(box, supports, prefix) {
    supports.forEach(function (s) {
      var line = prefix + s.source + (s.doi ? " (doi:" + s.doi + ")" : "") + (s.section ? ", " + s.section : "") +
        " · " + s.level;
      if (s.inherited) line += " · inherited from " + s.inherited;
      if (s.magnitude) line += " · effect: " + s.magnitude;
      box.appendChild(el("div", "s", line));
      if (s.note) box.appendChild(el("div", "k", s.note));
    });
  }

  function nodeTip(t) {
    var box = el("div");
    box.appendChild(el("div", "t", t.label));
    box.appendChild(el("div", "k", t.id + " · " + t.kind));
    if (t.synonyms.length) box.appendChild(el("div", "s", "also: " + t.synonyms.join("; ")));
    return box;
  }

  function edgeTip(t) {
    var box = el("div");
    box.appendChild(el("div", "t", t.sentence));
    box.appendChild(el("div", "k", t.relation + " · " + t.sign + (t.level ? " · evidence: " + t.level : "")));
    if (t.note) box.appendChild(el("div", "s", t.note));
    supportLines(box, t.supports, "");
    supportLines(box, t.counter, "against: ");
    return box;
  }

  var base = { nodes: {}, edges: {} };
  data.nodes.forEach(function (n) {
    n.title = nodeTip(n.tip);
    delete n.tip;
    base.nodes[n.id] = { font: n.font };
  });
  data.edges.forEach(function (e) {
    e.title = edgeTip(e.tip);
    delete e.tip;
    base.edges[e.id] = { color: e.color, width: e.width };
  });

  var nodes = new vis.DataSet(data.nodes);
  var edges = new vis.DataSet(data.edges);
  var large = data.nodes.length > 400;
  var network = new vis.Network(container, { nodes: nodes, edges: edges }, {
    physics: { enabled: false },
    layout: { improvedLayout: false },
    nodes: { font: { face: "system-ui, sans-serif", strokeWidth: 3, strokeColor: "#ffffff" },
             scaling: { label: { drawThreshold: 7 } } },
    edges: { smooth: false, font: { size: 26, align: "middle", strokeWidth: 5, strokeColor: "#ffffff" },
             selectionWidth: 1.5, hoverWidth: 1 },
    interaction: { hover: true, tooltipDelay: 120, hideEdgesOnDrag: large, hideEdgesOnZoom: large,
                   multiselect: false, navigationButtons: false, keyboard: false }
  });

  function apply(group) {
    var keepNodes = group ? new Set(group.nodes) : null;
    var keepEdges = group ? new Set(group.edges) : null;
    var labels = group ? group.labels : {};
    var stress = keepNodes && data.mode !== "graph";
    nodes.update(data.nodes.map(function (n) {
      var on = !keepNodes || keepNodes.has(n.id);
      return { id: n.id, opacity: on ? 1 : DIM_NODE,
               font: { size: on && stress ? Math.max(26, base.nodes[n.id].font.size) : base.nodes[n.id].font.size,
                       color: on ? base.nodes[n.id].font.color : DIM_FONT } };
    }));
    edges.update(data.edges.map(function (e) {
      var b = base.edges[e.id];
      var on = !keepEdges || keepEdges.has(e.id);
      var strong = on && stress;
      return { id: e.id, label: labels[String(e.id)] || "",
               width: strong ? 3.5 : b.width,
               color: { color: b.color.color, highlight: b.color.color, hover: b.color.color,
                        opacity: on ? 1 : DIM_EDGE } };
    }));
  }

  var defaultGroup = data.defaultGroup >= 0 ? data.groups[data.defaultGroup] : null;
  var panelItems = Array.prototype.slice.call(document.querySelectorAll("[data-group]"));
  function activate(index) {
    apply(index === null ? defaultGroup : data.groups[index]);
    panelItems.forEach(function (item) {
      item.classList.toggle("active", index !== null && item.getAttribute("data-group") === String(index));
    });
  }
  panelItems.forEach(function (item) {
    item.addEventListener("click", function (event) {
      if (event.target.closest("summary")) return;
      activate(Number(item.getAttribute("data-group")));
    });
  });

  function neighbourhood(id) {
    return { nodes: [id].concat(network.getConnectedNodes(id)), edges: network.getConnectedEdges(id), labels: {} };
  }
  network.on("click", function (params) {
    if (params.nodes.length) apply(neighbourhood(params.nodes[0]));
    else if (!params.edges.length) activate(data.defaultGroup >= 0 ? data.defaultGroup : null);
  });

  var byLabel = {};
  data.nodes.forEach(function (n) { byLabel[n.label.toLowerCase()] = n.id; });
  var find = document.getElementById("cd38kg-find");
  find.addEventListener("change", function () {
    var id = byLabel[find.value.trim().toLowerCase()];
    if (id === undefined) return;
    network.selectNodes([id]);
    network.focus(id, { scale: 1.2, animation: false });
    apply(neighbourhood(id));
  });

  window.cd38kg = { network: network, nodes: nodes, edges: edges, groups: data.groups, activate: activate };
  if (defaultGroup) apply(defaultGroup);
  // Frame what the page is about: the highlighted paths (context may run off the edges).
  network.fit({ nodes: defaultGroup ? defaultGroup.nodes : [], animation: false });
  if (defaultGroup) network.moveTo({ scale: network.getScale() * 0.8, animation: false });  // room for labels

  function report(drawnAt, before) {
    var after = network.getPositions();
    var moved = 0;
    var drawn = 0;
    var width = container.clientWidth;
    var height = container.clientHeight;
    Object.keys(before).forEach(function (id) {
      if (before[id].x !== after[id].x || before[id].y !== after[id].y) moved += 1;
      var p = network.canvasToDOM(before[id]);
      if (p.x >= 0 && p.y >= 0 && p.x <= width && p.y <= height) drawn += 1;
    });
    var canvas = container.querySelector("canvas");
    var pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    var ink = 0;
    for (var i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) ink += 1;
    document.getElementById("cd38kg-status").textContent = JSON.stringify({
      mode: data.mode, nodes: nodes.length, edges: edges.length, drawn: drawn, ink: ink,
      settled: moved === 0, ms: Math.round(drawnAt), violations: window.cd38kgViolations
    });
  }
  network.once("afterDrawing", function () {
    var drawnAt = performance.now();
    var before = network.getPositions();
    setTimeout(function () { report(drawnAt, before); }, 1000);
  });
})();
