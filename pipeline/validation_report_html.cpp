#include "pipeline/validation_report_html.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "pipeline/budget_pareto_svg.h"

namespace moedist {
namespace {

// Colours for groups (and series), readable on white.
constexpr const char* kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
const char* Colour(size_t i) {
  return kPalette[i % std::size(kPalette)];
}

std::string Fixed(const std::optional<double>& v, int digits = 4) {
  return v && std::isfinite(*v) ? fmt::format("{:.{}f}", *v, digits) : "–";
}

std::string StateCell(CheckState s) {
  const char* cls = s == CheckState::kPassed ? "ok" : s == CheckState::kFailed ? "bad" : "na";
  return fmt::format("<td class=\"{}\">{}</td>", cls, CheckStateName(s));
}

void Header(const ValidationReport& r, std::string& out) {
  out += fmt::format("<h1>Validation of {} version {}</h1>\n", HtmlEscape(r.release_name),
                     r.release_version);
  out += fmt::format(
      "<p class=\"verdict {}\">{}</p>\n", r.passed() ? "ok" : "bad",
      r.passed() ? "PASSED"
                 : "FAILED: " + HtmlEscape(fmt::format("{}", fmt::join(r.FailedNodes(), ", "))));
  out += fmt::format(
      "<p>Eval suite <code>{}</code> (SHA-256 <code>{}</code>), {} prompts cut to {} tokens; "
      "greedy samples of {} tokens from {}-token prompts. Recipe: {}{}.</p>\n",
      HtmlEscape(r.eval_file), HtmlEscape(r.eval_sha256), r.eval_prompt_ids.size(),
      r.max_prompt_tokens, r.generation_new_tokens, r.generation_prompt_tokens,
      HtmlEscape(r.recipe_name.empty() ? "(unnamed)" : r.recipe_name),
      r.recipe_keeps_everything ? " (keeps every tensor)" : "");
  const ValidateThresholds& t = r.thresholds;
  out += fmt::format(
      "<p>Thresholds: Δ mean log-probability vs the full model ≥ −{:.4f} nats/token; mean "
      "distinct-2 ≥ {:.3f} and at most {:.3f} below the full model's; equivalence {}.</p>\n",
      t.max_logprob_drop, t.min_distinct_2, t.max_distinct_2_drop,
      t.require_equivalence ? "required" : "reported only");
  auto ref = [&](const char* name, const ReferenceValidation& v) {
    out += fmt::format("<p>{}: {} — {}</p>\n", name,
                       v.quality ? fmt::format("mean log-probability {:.4f}, distinct-2 {:.3f}",
                                               v.quality->mean_logprob,
                                               v.degeneracy ? v.degeneracy->distinct_2 : 1.0)
                                 : "not measured",
                       HtmlEscape(v.note));
  };
  ref("Full model", r.full);
  ref("Quantized full model", r.quantized_full);
}

void NodeTable(const ValidationReport& r, std::string& out) {
  out +=
      "<h2>Nodes</h2>\n<table>\n<tr><th>node</th><th>mode</th><th>quantized</th>"
      "<th>verify</th><th>load</th><th>equivalence</th><th>quality</th><th>degeneracy</th>"
      "<th>mean log-prob</th><th>Δ vs full</th><th>Δ vs quantized full</th>"
      "<th>distinct-2</th><th>failures</th></tr>\n";
  for (const NodeValidation& n : r.nodes) {
    out += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td>", HtmlEscape(n.node),
                       HtmlEscape(n.mode), n.quantized ? "yes" : "no");
    out += StateCell(n.verify) + StateCell(n.load) + StateCell(n.equivalence) +
           StateCell(n.quality_check) + StateCell(n.degeneracy_check);
    out +=
        fmt::format("<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                    Fixed(n.quality ? std::optional(n.quality->mean_logprob) : std::nullopt),
                    Fixed(n.delta_vs_full), Fixed(n.delta_vs_quantized_full),
                    Fixed(n.degeneracy ? std::optional(n.degeneracy->distinct_2) : std::nullopt, 3),
                    HtmlEscape(fmt::format("{}", fmt::join(n.failures, "; "))));
  }
  out += "</table>\n";
}

// Vertical bars around a zero line: per node, Δ vs full and Δ vs quantized full.
void QualityBars(const ValidationReport& r, std::string& out) {
  const double limit = r.thresholds.max_logprob_drop;
  double lo = -limit, hi = 0;
  for (const NodeValidation& n : r.nodes) {
    for (const auto& v : {n.delta_vs_full, n.delta_vs_quantized_full}) {
      if (v && std::isfinite(*v)) lo = std::min(lo, *v), hi = std::max(hi, *v);
    }
  }
  lo *= 1.1, hi = hi * 1.1 + 1e-9;
  const int w = 120 + 90 * static_cast<int>(std::max<size_t>(1, r.nodes.size())), h = 260;
  const int top = 20, bottom = 220;
  auto y = [&](double v) { return top + (hi - v) / (hi - lo) * (bottom - top); };
  out +=
      "<h2>Per-node quality</h2>\n<p>Δ mean token log-probability (nats/token) of each node: "
      "vs the full model (blue), vs the quantized full model (orange); dashed: the limit.</p>\n";
  out += fmt::format("<svg width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" role=\"img\">\n", w, h,
                     w, h);
  out += fmt::format("<line x1=\"60\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#000\"/>\n",
                     w - 10, y(0), y(0));
  out += fmt::format(
      "<line x1=\"60\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#d62728\" "
      "stroke-dasharray=\"4 3\"/><text x=\"4\" y=\"{:.1f}\" font-size=\"11\">−{:.3f}</text>\n",
      w - 10, y(-limit), y(-limit), y(-limit) + 4, limit);
  out += fmt::format("<text x=\"4\" y=\"{:.1f}\" font-size=\"11\">0</text>\n", y(0) + 4);
  for (size_t i = 0; i < r.nodes.size(); ++i) {
    const NodeValidation& n = r.nodes[i];
    const int x0 = 80 + 90 * static_cast<int>(i);
    int k = 0;
    for (const auto& v : {n.delta_vs_full, n.delta_vs_quantized_full}) {
      if (v && std::isfinite(*v)) {
        const double a = y(std::max(0.0, *v)), b = y(std::min(0.0, *v));
        out += fmt::format(
            "<rect x=\"{}\" y=\"{:.1f}\" width=\"30\" height=\"{:.1f}\" fill=\"{}\">"
            "<title>{} {}: {:.4f}</title></rect>\n",
            x0 + 32 * k, a, std::max(1.0, b - a), Colour(k), HtmlEscape(n.node),
            k == 0 ? "vs full" : "vs quantized full", *v);
      }
      ++k;
    }
    out += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"12\" fill=\"{}\">{}</text>\n", x0,
                       bottom + 20, n.passed() ? "#000" : "#d62728", HtmlEscape(n.node));
  }
  out += "</svg>\n";
}

// Worst node, placed and oracle Δ over the eval suite.
void SessionsTable(const ValidationReport& r, std::string& out) {
  if (!r.sessions) return;
  const SessionQuality& q = *r.sessions;
  out += fmt::format(
      "<h2>Sessions</h2>\n<p>Δ mean token log-probability vs the full model over the eval "
      "suite. Placed: each prompt on the node <code>moedist place</code> picks from its first "
      "{} tokens; oracle: each prompt on its best node.</p>\n<table>\n<tr><th>worst node</th>"
      "<th>placed</th><th>oracle</th><th>placer found the best node</th></tr>\n"
      "<tr><td>{:+.4f} ({})</td><td class=\"{}\">{:+.4f}</td><td>{:+.4f}</td><td>{:.0f}%</td>"
      "</tr>\n</table>\n",
      r.place_tokens, q.worst_node, HtmlEscape(r.nodes[q.worst_node_index].node),
      r.placed_failure.empty() ? "ok" : "bad", q.placed, q.oracle, 100 * q.placed_best_share);
}

// Per domain, each node's Δ vs the full model, as a table shaded by size.
void DomainTable(const ValidationReport& r, std::string& out) {
  if (!r.full.quality) return;
  out += "<h2>Per-domain Δ vs the full model</h2>\n<table>\n<tr><th>domain</th><th>full</th>";
  for (const NodeValidation& n : r.nodes) out += "<th>" + HtmlEscape(n.node) + "</th>";
  out += "</tr>\n";
  for (const auto& [domain, full] : r.full.quality->domain_mean_logprob) {
    out += fmt::format("<tr><td>{}</td><td>{:.4f}</td>", HtmlEscape(domain), full);
    for (const NodeValidation& n : r.nodes) {
      if (!n.quality || !n.quality->domain_mean_logprob.count(domain)) {
        out += "<td>–</td>";
        continue;
      }
      const double d = n.quality->domain_mean_logprob.at(domain) - full;
      const double shade =
          std::clamp(-d / std::max(1e-9, 2 * r.thresholds.max_logprob_drop), 0.0, 1.0);
      out += fmt::format("<td style=\"background:rgba(214,39,40,{:.2f})\">{:+.4f}</td>", shade, d);
    }
    out += "</tr>\n";
  }
  out += "</table>\n";
}

void ConcentrationCurves(const GateProfile& p, std::string& out) {
  const int w = 520, h = 280, left = 50, right = 500, top = 15, bottom = 240;
  out +=
      "<h2>Concentration curve</h2>\n<p>Share of each profiled layer's gate mass held by its "
      "hottest N experts (dashed: uniform).</p>\n";
  out += fmt::format("<svg width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" role=\"img\">\n", w, h,
                     w, h);
  const int e = std::max(1, p.num_experts);
  auto x = [&](double n) { return left + (n / e) * (right - left); };
  auto y = [&](double s) { return bottom - s * (bottom - top); };
  out += fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#999\"/>\n", left,
      top, right - left, bottom - top);
  out += fmt::format(
      "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#999\" "
      "stroke-dasharray=\"4 3\"/>\n",
      x(0), y(0), x(e), y(1));
  for (size_t li = 0; li < p.layers.size(); ++li) {
    const std::vector<double> curve = ConcentrationCurve(p.layers[li]);
    std::string pts = fmt::format("{:.1f},{:.1f}", x(0), y(0));
    for (size_t i = 0; i < curve.size(); ++i) {
      pts += fmt::format(" {:.1f},{:.1f}", x(i + 1), y(curve[i]));
    }
    out += fmt::format(
        "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\">"
        "<title>layer {}</title></polyline>\n",
        pts, Colour(li), p.layers[li].layer);
    out += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"{}\">layer {}</text>\n",
                       right - 60, bottom - 10 - 14 * static_cast<int>(li), Colour(li),
                       p.layers[li].layer);
  }
  out +=
      fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"11\">experts (hottest first) → {}</text>\n",
                  left, bottom + 16, e);
  out += fmt::format(
      "<text x=\"4\" y=\"{}\" font-size=\"11\">1.0</text><text x=\"4\" y=\"{}\" "
      "font-size=\"11\">0</text>\n",
      top + 8, bottom);
  out += "</svg>\n";
}

void MassHeatmap(const GateProfile& p, const std::map<uint32_t, LayerPartition>& partition,
                 std::string& out) {
  const int e = std::max(1, p.num_experts);
  const int cell = std::clamp(720 / e, 4, 28), left = 70, top = 10;
  const int w = left + cell * e + 10, h = top + (cell + 6) * static_cast<int>(p.layers.size()) + 30;
  out +=
      "<h2>Gate mass per layer and expert</h2>\n<p>Darker: a larger share of the layer's "
      "gate mass. The strip under each cell: the expert's group (colour) or the overlay "
      "(black).</p>\n";
  out += fmt::format("<svg width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" role=\"img\">\n", w, h,
                     w, h);
  for (size_t li = 0; li < p.layers.size(); ++li) {
    const LayerGateProfile& l = p.layers[li];
    double total = 0, peak = 0;
    for (double m : l.gate_mass) total += m, peak = std::max(peak, m);
    const int y0 = top + (cell + 6) * static_cast<int>(li);
    out += fmt::format("<text x=\"4\" y=\"{}\" font-size=\"11\">layer {}</text>\n", y0 + cell - 2,
                       l.layer);
    std::map<int, int> group_of;
    std::set<int> overlay;
    if (auto it = partition.find(static_cast<uint32_t>(l.layer)); it != partition.end()) {
      for (size_t g = 0; g < it->second.groups.size(); ++g) {
        for (uint32_t x : it->second.groups[g]) group_of[static_cast<int>(x)] = static_cast<int>(g);
      }
      overlay.insert(it->second.overlay.begin(), it->second.overlay.end());
    }
    for (int x = 0; x < static_cast<int>(l.gate_mass.size()); ++x) {
      const double share = total > 0 ? l.gate_mass[x] / total : 0;
      const double a = peak > 0 ? l.gate_mass[x] / peak : 0;
      const int x0 = left + cell * x;
      out += fmt::format(
          "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" "
          "fill=\"rgba(31,119,180,{:.3f})\" stroke=\"#eee\"><title>layer {} expert "
          "{}: {:.2f}% of the mass</title></rect>\n",
          x0, y0, cell, cell, a, l.layer, x, 100 * share);
      const char* strip = overlay.count(x)    ? "#000"
                          : group_of.count(x) ? Colour(group_of[x])
                                              : nullptr;
      if (strip) {
        out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"4\" fill=\"{}\"/>\n", x0,
                           y0 + cell + 1, cell, strip);
      }
    }
  }
  out += "</svg>\n";
}

void Samples(const ValidationReport& r, std::string& out) {
  out += "<h2>Greedy samples</h2>\n";
  auto block = [&](const std::string& name, const std::optional<DegeneracySummary>& d) {
    if (!d || d->samples.empty()) return;
    out += fmt::format("<details><summary>{} (mean distinct-2 {:.3f})</summary>\n",
                       HtmlEscape(name), d->distinct_2);
    for (const GenerationSample& s : d->samples) {
      out += fmt::format("<p><b>{}</b> distinct-2 {:.3f}</p><pre>{}</pre>\n",
                         HtmlEscape(s.prompt_id), s.stats.distinct_2, HtmlEscape(s.text));
    }
    out += "</details>\n";
  };
  block("full model", r.full.degeneracy);
  for (const NodeValidation& n : r.nodes) block(n.node, n.degeneracy);
}

}  // namespace

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += ch;
    }
  }
  return out;
}

std::string ValidationReportHtml(const ValidationReport& r, const GateProfile* profile,
                                 const std::map<uint32_t, LayerPartition>& partition) {
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<title>moedist validation</title>\n<style>\n"
      "body{font-family:sans-serif;margin:2em;max-width:1100px}"
      "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 6px;"
      "font-size:13px}.ok{color:#2ca02c}.bad{color:#d62728;font-weight:bold}.na{color:#777}"
      ".verdict{font-size:20px}pre{white-space:pre-wrap;background:#f6f6f6;padding:4px}\n"
      "</style>\n</head>\n<body>\n";
  Header(r, out);
  for (const std::string& p : r.release_problems) {
    out += "<p class=\"bad\">" + HtmlEscape(p) + "</p>\n";
  }
  NodeTable(r, out);
  QualityBars(r, out);
  SessionsTable(r, out);
  out += BudgetParetoSvg(r.budget);
  DomainTable(r, out);
  if (profile != nullptr && !profile->layers.empty()) {
    ConcentrationCurves(*profile, out);
    MassHeatmap(*profile, partition, out);
  }
  Samples(r, out);
  if (!r.notes.empty()) {
    out += "<h2>Notes</h2>\n<ul>\n";
    for (const std::string& n : r.notes) out += "<li>" + HtmlEscape(n) + "</li>\n";
    out += "</ul>\n";
  }
  out += "</body>\n</html>\n";
  return out;
}

}  // namespace moedist
