// The person timeline's map: the track and markers from the page's JSON, drawn with the
// vendored Leaflet. Tiles are optional (the tile URL is a setting; empty means none): the
// track, markers and a scale still draw on a blank map when the server has no internet.
(function () {
  "use strict";
  var holder = document.getElementById("timeline-map");
  var data = document.getElementById("timeline-data");
  if (!holder || !data || typeof L === "undefined") { return; }
  var timeline = JSON.parse(data.textContent);
  var map = L.map(holder, { preferCanvas: true });
  var tiles = holder.getAttribute("data-tiles");
  if (tiles) {
    L.tileLayer(tiles, { maxZoom: 19, attribution: holder.getAttribute("data-attribution") || "" })
      .addTo(map);
  }
  L.control.scale().addTo(map);
  var points = [];
  (timeline.zones || []).forEach(function (zone) {
    var style = { color: zone.rule === "inclusion" ? "#2e8b57" : "#cc3333", weight: 1,
                  fillOpacity: 0.08 };
    var label = zone.name + " (" + zone.rule + ", " + (zone.hours || "always") + ")";
    var g = zone.geometry;
    var shape = g.circle ? L.circle(g.circle, Object.assign({ radius: g.radius_m }, style))
                         : L.polygon(g.polygon, style);
    shape.bindPopup(label).addTo(map);
    points.push.apply(points, g.circle ? [g.circle] : g.polygon);
  });
  var track = [];
  timeline.entries.forEach(function (entry) {
    if (!entry.fix) { return; }
    var at = [entry.fix.lat, entry.fix.lon];
    track.push(at);
    var checkin = entry.kind === "checkin";
    var colour = !checkin ? "#3366cc" : (entry.verdict === "match" ? "#2e8b57" : "#cc3333");
    L.circleMarker(at, { radius: checkin ? 7 : 4, color: colour, fillOpacity: 0.8 })
      .bindPopup(entry.device_time + " · " + entry.what + " · receipt " + entry.receipt)
      .addTo(map);
  });
  if (track.length) {
    L.polyline(track, { color: "#3366cc", weight: 2, opacity: 0.6 }).addTo(map);
  }
  points.push.apply(points, track);
  if (points.length) {
    map.fitBounds(L.latLngBounds(points).pad(0.2));
  } else {
    map.setView([0, 0], 2);
  }
  holder.setAttribute("data-zones", String((timeline.zones || []).length));
  holder.setAttribute("data-drawn", String(track.length));
})();
