#include "pipeline/budget_pareto_svg.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "pipeline/validation_report_html.h"

namespace moedist {
namespace {

struct Point {
  double bytes, worst, placed;
  std::string id;
  bool chosen;
};

double Number(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_number() ? j[key].get<double>() : NAN;
}

}  // namespace

std::string BudgetParetoSvg(const nlohmann::json& budget) {
  if (!budget.is_object() || !budget.contains("candidates")) return "";
  const std::string chosen = budget.value("chosen", "");
  std::vector<Point> pts;
  for (const nlohmann::json& c : budget["candidates"]) {
    if (!c.contains("measured") || !c["measured"].is_object()) continue;
    const nlohmann::json& m = c["measured"];
    const Point p{Number(m, "bytes"), Number(m, "worst_node"), Number(m, "placed"),
                  c.value("id", ""), c.value("id", "") == chosen};
    if (std::isfinite(p.bytes) && std::isfinite(p.worst) && std::isfinite(p.placed)) {
      pts.push_back(p);
    }
  }
  if (pts.empty()) return "";
  const double limit = Number(budget, "node_bytes");
  double x_hi = std::isfinite(limit) ? limit : 0, y_lo = 0;
  for (const Point& p : pts) {
    x_hi = std::max(x_hi, p.bytes);
    y_lo = std::min({y_lo, p.worst, p.placed});
  }
  x_hi *= 1.05;
  y_lo = y_lo * 1.1 - 1e-3;
  const int w = 640, h = 300, left = 70, right = w - 20, top = 20, bottom = h - 40;
  auto X = [&](double b) { return left + b / x_hi * (right - left); };
  auto Y = [&](double d) { return top + d / y_lo * (bottom - top); };
  std::string out =
      "<h2>Budget candidates</h2>\n<p>Measured by <code>plan --node-bytes</code> on the "
      "calibration suite: node bytes against Δ mean token log-probability vs the full model "
      "(blue: worst node serving every prompt; orange: placed sessions). Ringed: the chosen "
      "configuration; red line: the node budget.</p>\n";
  out += fmt::format("<svg width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" role=\"img\">\n", w, h,
                     w, h);
  out += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#000\"/>\n",
                     left, right, Y(0), Y(0));
  out += fmt::format("<text x=\"4\" y=\"{:.1f}\" font-size=\"11\">0</text>\n", Y(0) + 4);
  out +=
      fmt::format("<text x=\"4\" y=\"{:.1f}\" font-size=\"11\">{:.3f}</text>\n", Y(y_lo) + 4, y_lo);
  out += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"11\">node bytes (0 – {:.0f})</text>\n",
                     left, h - 8, x_hi);
  if (std::isfinite(limit)) {
    out += fmt::format(
        "<line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{}\" y2=\"{}\" stroke=\"#d62728\" "
        "stroke-dasharray=\"4 3\"/>\n",
        X(limit), X(limit), top, bottom);
  }
  for (const Point& p : pts) {
    const std::string title = HtmlEscape(p.id);
    out += fmt::format(
        "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"4\" fill=\"#1f77b4\"><title>{}: worst node "
        "{:+.4f}, {:.0f} bytes</title></circle>\n",
        X(p.bytes), Y(p.worst), title, p.worst, p.bytes);
    out += fmt::format(
        "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"4\" fill=\"#ff7f0e\"><title>{}: placed "
        "{:+.4f}</title></circle>\n",
        X(p.bytes), Y(p.placed), title, p.placed);
    if (p.chosen) {
      out += fmt::format(
          "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"9\" fill=\"none\" stroke=\"#000\"/>\n",
          X(p.bytes), Y(p.worst));
    }
  }
  out +=
      "</svg>\n<table>\n<tr><th>candidate</th><th>bytes</th><th>worst node</th>"
      "<th>placed</th></tr>\n";
  for (const Point& p : pts) {
    out += fmt::format("<tr><td>{}{}</td><td>{:.0f}</td><td>{:+.4f}</td><td>{:+.4f}</td></tr>\n",
                       HtmlEscape(p.id), p.chosen ? " (chosen)" : "", p.bytes, p.worst, p.placed);
  }
  out += "</table>\n";
  return out;
}

}  // namespace moedist
