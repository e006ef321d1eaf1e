// The two passes the profiler can run over a tokenized calibration suite, feeding one
// ProfileAccumulator; both record identical statistics (gate_profiler.h says which is chosen).
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"
#include "pipeline/calibration_suite.h"
#include "pipeline/gate_profile.h"
#include "pipeline/gate_profiler.h"
#include "pipeline/profile_accumulator.h"
#include "runtime-min/activation_observer.h"
#include "runtime-min/model.h"
#include "runtime-min/weight_pages.h"

namespace moedist {

// Forward() over each prompt in turn, through every layer. `ids` are the prompts' tokens;
// `estimate` is quoted if the --max-rss guard trips. `activations` (may be null) sees every
// matmul's input.
Status RunPromptByPrompt(const Model& model, const CalibrationSuite& suite,
                         const std::vector<std::vector<int32_t>>& ids, const ProfileOptions& o,
                         uint64_t estimate, ProfileAccumulator& acc, GateProfile& p,
                         ActivationObserver* activations = nullptr);

// ForwardLayerMajor() over every prompt, layers [0, last_layer], each layer's pages released
// once it is done; progress and the --max-rss guard after every layer.
Status RunLayerStream(const Model& model, const WeightPages& pages, const CalibrationSuite& suite,
                      const std::vector<std::vector<int32_t>>& ids, const ProfileOptions& o,
                      int last_layer, uint64_t estimate, ProfileAccumulator& acc, GateProfile& p,
                      ActivationObserver* activations = nullptr);

}  // namespace moedist
