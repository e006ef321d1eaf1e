// moedist inspect CKPT [--json] [--groups N]: what is in this checkpoint?
#include <fmt/format.h>

#include "apps/command_registry.h"
#include "core/byte_size.h"
#include "core/json_strict.h"
#include "formats/checkpoint_inventory.h"

namespace moedist::cli {
namespace {

struct InspectOptions {
  std::string checkpoint;
  bool json = false;
  int groups = 0;
};

void PrintText(const CheckpointInventory& inv) {
  const ModelConfig& c = *inv.config;
  const RoutingConfig& r = c.routing;
  fmt::print("family        {} ({})\n", FamilyName(c.family), c.architecture);
  fmt::print("layers        {} ({} MoE: {})\n", c.num_layers, c.num_moe_layers(),
             fmt::join(c.MoeLayers(), ","));
  fmt::print("experts       {} routed, top-{}, {} shared\n", r.num_experts, r.top_k,
             r.num_shared_experts);
  fmt::print("routing       {}{}{}{}\n", ScoringFuncName(r.scoring),
             r.norm_topk_prob ? ", renormalised top-k" : "",
             r.correction_bias ? ", correction bias" : "",
             r.n_group > 1 ? fmt::format(", grouped top-k {}/{}", r.topk_group, r.n_group) : "");
  fmt::print("tensors       {}\n", inv.tensor_count);
  fmt::print("bytes         {} total = {} trunk ({:.1f}%) + {} routed experts\n",
             FormatByteSize(inv.total_bytes), FormatByteSize(inv.trunk_bytes),
             inv.total_bytes ? 100.0 * inv.trunk_bytes / inv.total_bytes : 0.0,
             FormatByteSize(inv.routed_bytes));
  fmt::print("\n{:<16} {:>8} {:>14}\n", "class", "tensors", "bytes");
  for (const auto& [cls, bytes] : inv.bytes_by_class) {
    fmt::print("{:<16} {:>8} {:>14}\n", cls, inv.tensors_by_class.at(cls), bytes);
  }
  fmt::print("\n{:<6} {:<5} {:>14} {:>14} {:>16}\n", "layer", "kind", "trunk", "routed",
             "per expert");
  for (const LayerInventory& li : inv.layers) {
    std::string per_expert = "-";
    if (li.moe && !li.expert_bytes.empty()) {
      auto [mn, mx] = std::minmax_element(li.expert_bytes.begin(), li.expert_bytes.end());
      per_expert = *mn == *mx ? fmt::format("{}", *mn) : fmt::format("{}..{}", *mn, *mx);
    }
    fmt::print("{:<6} {:<5} {:>14} {:>14} {:>16}\n", li.layer, li.moe ? "moe" : "dense",
               li.trunk_bytes, li.routed_bytes, per_expert);
  }
  if (inv.node) {
    fmt::print(
        "\nwith {} groups: {} experts per node per MoE layer; one node holds {} ({:.1f}% "
        "of the model, before overlay)\n",
        inv.node->groups, inv.node->experts_per_node, FormatByteSize(inv.node->node_bytes),
        100.0 * inv.node->fraction_of_model);
  }
  for (const std::string& w : inv.warnings) fmt::print(stderr, "warning: {}\n", w);
  for (const std::string& n : inv.unclassified) {
    fmt::print(stderr, "error: unclassified tensor \"{}\"\n", n);
  }
}

int RunInspect(const InspectOptions& o) {
  auto ckpt = Checkpoint::Open(o.checkpoint);
  if (!ckpt.ok()) return ReportError("inspect", ckpt.status());
  auto inv = InventoryCheckpoint(**ckpt, o.groups);
  if (!inv.ok()) return ReportError("inspect", inv.status());
  if (o.json) {
    fmt::print("{}\n", DumpJsonStable(InventoryToJson(*inv)));
  } else {
    PrintText(*inv);
  }
  if (!inv->unclassified.empty()) {
    return ReportError(
        "inspect", Status::Unsupported("{}: {} tensors are not recognised for "
                                       "family {} (first: \"{}\")",
                                       o.checkpoint, inv->unclassified.size(),
                                       FamilyName(inv->config->family), inv->unclassified.front()));
  }
  return kExitOk;
}

Registrar registrar({"inspect", 10,
                     [](CLI::App& sub) -> std::function<int()> {
                       auto o = std::make_shared<InspectOptions>();
                       sub.add_option("checkpoint", o->checkpoint,
                                      "Hugging Face checkpoint directory (config.json + "
                                      "safetensors)")
                           ->required();
                       sub.add_flag("--json", o->json, "print JSON (schemas/inspect.schema.json)");
                       sub.add_option("--groups", o->groups,
                                      "also estimate one node's bytes for N expert groups")
                           ->check(CLI::Range(1, 65536));
                       return [o] { return RunInspect(*o); };
                     },
                     "read a checkpoint, classify every tensor, report trunk vs expert bytes"});

}  // namespace
}  // namespace moedist::cli
