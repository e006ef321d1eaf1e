// The proxy-expert file `plan --standins proxy-fit` writes beside plan.json and `pack` reads
// (docs/formats/plan.md, "Stand-ins"): one safetensors file holding, per MoE layer, the proxies
// that stand for the plan's groups on the nodes lacking them, in group order (one or more per
// group, each for a part of it; a node gets every proxy of the groups it lacks):
//   model.layers.<L>.mlp.proxies.<i>.{gate_proj,up_proj,down_proj}.weight   [I, H] [I, H] [H, I]
//   model.layers.<L>.mlp.proxies.<i>.router.weight                          [1, H]
// in the checkpoint's routed-expert dtype (so a node's proxies and experts share one type), with
// __metadata__ "moedist.standins": {"version": 1, "kind", "layers": {"<L>": [[members], ...]}}.
// Constant stand-ins have no file: no stock runtime can express them (docs/algorithms.md).
// Thread safety: plain functions; a StandInFile is immutable.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "formats/hf_checkpoint.h"
#include "pipeline/expert_plan.h"
#include "pipeline/standin_fit.h"

namespace moedist {

struct StandInFileProxy {
  std::vector<int> members;  // the experts it stands for (a part of one group), sorted
  CheckpointTensor gate, up, down, router;
};

struct StandInFile {
  std::string path;
  std::string kind;
  std::map<int, std::vector<StandInFileProxy>> layers;  // MoE layer → its proxies, group order
};

// Writes `fitted` (proxy kinds only) with matrices in `dtype` (F32, F16 or BF16).
Status WriteStandInFile(const std::string& path, const FittedStandIns& fitted, DType dtype);

// Opens and checks the file against `plan`: every MoE layer's proxies split its groups, in
// group order (each proxy's members inside one group, a group's proxies together that group),
// with shapes [I, H], [I, H], [H, I], [1, H] for the model's widths.
// Corruption naming the file and tensor otherwise.
Result<StandInFile> ReadStandInFile(const std::string& path, const ExpertPlan& plan, int64_t hidden,
                                    int64_t expert_width);

// The file's proxies as fitted stand-ins (matrices widened to f32), so runtime-min can run a
// plan's nodes with them without packing (NodeStandIns).
Result<FittedStandIns> LoadFittedStandIns(const StandInFile& file);

}  // namespace moedist
