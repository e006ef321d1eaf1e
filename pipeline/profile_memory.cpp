#include "pipeline/profile_memory.h"

#include "core/byte_size.h"

namespace moedist {

uint64_t ProfileStatisticsBytes(const ProfileShape& s) {
  const uint64_t per_layer = s.tokens * s.topm * (sizeof(uint16_t) + sizeof(float)) +  // top-m
                             s.prompts * s.experts * sizeof(float) +        // prompt mass
                             s.experts * s.experts * sizeof(uint32_t) +     // co-activation
                             (3 + s.domains) * s.experts * sizeof(double);  // summaries
  // token_prompt and the prompts' token ids.
  return s.layers * per_layer + s.tokens * (sizeof(uint32_t) + sizeof(int32_t));
}

std::string ProfileMemoryPlan::Describe() const {
  return fmt::format("{} = process {} + statistics {} + {}", FormatByteSize(estimate()),
                     FormatByteSize(process_bytes), FormatByteSize(statistics_bytes),
                     forward.Describe());
}

Result<ProfileMemoryPlan> PlanProfileMemory(const ForwardFootprint& prompt_by_prompt,
                                            const ForwardFootprint& layer_stream,
                                            uint64_t process_bytes, uint64_t statistics_bytes,
                                            uint64_t max_rss, bool force_layer_stream) {
  ProfileMemoryPlan plan{false, process_bytes, statistics_bytes, prompt_by_prompt};
  if (force_layer_stream || (max_rss > 0 && plan.estimate() > max_rss)) {
    plan.layer_stream = true;
    plan.forward = layer_stream;
  }
  if (max_rss > 0 && plan.estimate() > max_rss) {
    return Status::InvalidArgument(
        "--max-rss {} is too small: profiling layer by layer needs about {}; give --max-rss {} "
        "or more, or profile fewer tokens (--max-tokens-per-prompt, a smaller suite)",
        FormatByteSize(max_rss), plan.Describe(), FormatByteSize(plan.estimate()));
  }
  return plan;
}

Result<ProcessMemory> CheckResidentLimit(uint64_t max_rss, uint64_t estimate,
                                         const std::string& where) {
  Result<ProcessMemory> m = ReadProcessMemory();
  if (!m.ok() || max_rss == 0) return m;
  if (m->peak_bytes > max_rss) {
    return Status::FailedPrecondition(
        "resident memory reached {} {}, above --max-rss {} (estimated {}); stopped",
        FormatByteSize(m->peak_bytes), where, FormatByteSize(max_rss), FormatByteSize(estimate));
  }
  return m;
}

}  // namespace moedist
