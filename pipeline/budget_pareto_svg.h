// The budget planner's candidates as a picture: node bytes against measured Δ (worst node and
// placed sessions), one point per measured candidate, the chosen one ringed, the budget drawn as
// a vertical line — the Pareto view of "what does a byte buy". Input is the "budget" object of a
// budget plan.json (budget_plan.h); output is inline SVG with a heading, or "" when nothing was
// measured. Text from the file is HTML-escaped. Thread safety: pure function.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace moedist {

std::string BudgetParetoSvg(const nlohmann::json& budget);

}  // namespace moedist
