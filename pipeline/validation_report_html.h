// The validation report as one self-contained HTML page: no scripts, no external files, plots
// as inline SVG. Sections: the verdict and per-node table; per-node quality bars (Δ mean token
// log-probability vs the full and the quantized full model, with the threshold drawn); per-node
// per-domain Δ; and, when a gate profile is given, the concentration curve of each profiled
// layer (share of gate mass held by the hottest N experts) and a layer × expert heatmap of gate
// mass with each expert's group and the overlay marked from the release's partition.
// Every text taken from files (prompt ids, domains, generated text) is HTML-escaped.
// Thread safety: pure function.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "manifest/distribution.h"
#include "pipeline/gate_profile.h"
#include "pipeline/validation_report.h"

namespace moedist {

std::string ValidationReportHtml(const ValidationReport& report, const GateProfile* profile,
                                 const std::map<uint32_t, LayerPartition>& partition);

// "&<>\"'" escaped for HTML text and attribute values.
std::string HtmlEscape(std::string_view text);

}  // namespace moedist
