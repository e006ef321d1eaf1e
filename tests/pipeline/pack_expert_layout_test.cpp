// pack --layout experts (docs/formats/bundle.md "Expert layout"): one expert-<layer>-<id>/ bundle
// per routed expert and layer. What the layout is for is checked against the manifests pack
// wrote: each expert bundle holds that expert and nothing else, a node lists exactly the experts
// it holds, the release verifies, a plan that moves k experts makes a node download those
// experts' files (plus its own small node files) and nothing else, and an overlay-only change
// leaves every expert file byte-identical (where the groups layout rewrites group files).
// Logits of expert-layout nodes are checked bit for bit in pack_equivalence_test.cpp.
#include <gtest/gtest.h>

#include <set>

#include "formats/safetensors_reader.h"
#include "manifest/release_diff.h"
#include "manifest/release_verify.h"
#include "pack_fixture_testutil.h"
#include "pipeline/pack_layout.h"

namespace moedist::pack_testing {
namespace {

const std::string kFamily = "qwen3_moe";

Result<Distribution> Pack(const ExpertPlan& plan, PackLayoutKind layout, const std::string& out,
                          uint64_t version) {
  PackRequest request = MakeRequest(FixtureDir(kFamily), plan, out);
  request.layout = layout;
  request.release_version = version;
  RETURN_IF_ERROR(PackRelease(request).status());
  return LoadDistribution(out);
}

// Releases v1 of `before` and v2 of `after` in `layout`, under `tmp`.
void PackBoth(const ExpertPlan& before, const ExpertPlan& after, PackLayoutKind layout,
              const TempDir& tmp, Distribution* old_d, Distribution* new_d) {
  const std::string name(PackLayoutKindName(layout));
  auto a = Pack(before, layout, tmp.Sub(name + "-v1"), 1);
  auto b = Pack(after, layout, tmp.Sub(name + "-v2"), 2);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  *old_d = std::move(a).value();
  *new_d = std::move(b).value();
}

ExpertPlan BasePlan() {
  auto ckpt = Checkpoint::Open(FixtureDir(kFamily));
  EXPECT_TRUE(ckpt.ok()) << ckpt.status().ToString();
  return TwoGroupPlan((*ckpt)->config());
}

// Bytes of bundle `bundle`'s files.
uint64_t BundleBytes(const Distribution& d, const std::string& bundle) {
  uint64_t n = 0;
  for (const ManifestFile& f : d.bundles.at(bundle).files) n += f.size;
  return n;
}

// Bytes of node `node`'s own bundle files whose digest its old bundle did not have.
uint64_t ChangedNodeFileBytes(const Distribution& before, const Distribution& after,
                              const std::string& node) {
  std::set<std::string> old_digests;
  for (const ManifestFile& f : before.bundles.at(node).files) old_digests.insert(f.sha256);
  uint64_t n = 0;
  for (const ManifestFile& f : after.bundles.at(node).files) {
    if (!old_digests.count(f.sha256)) n += f.size;
  }
  return n;
}

const NodeDownload& NodeIn(const ReleaseDiff& diff, const std::string& id) {
  for (const NodeDownload& n : diff.nodes) {
    if (n.id == id) return n;
  }
  ADD_FAILURE() << "diff has no node " << id;
  static const NodeDownload kNone;
  return kNone;
}

void Swap(ExpertPlan& plan, int layer, int a, int b) {
  for (auto& group : plan.layers.at(layer).groups) {
    for (int& e : group) e = e == a ? b : (e == b ? a : e);
    std::sort(group.begin(), group.end());
  }
}

TEST(PackExpertLayout, EachExpertBundleHoldsOneExpertAndNodesListWhatTheyHold) {
  const ExpertPlan plan = BasePlan();
  TempDir tmp;
  const std::string dist = tmp.Sub("dist");
  auto d = Pack(plan, PackLayoutKind::kExperts, dist, 1);
  ASSERT_TRUE(d.ok()) << d.status().ToString();

  size_t expert_bundles = 0;
  for (const auto& [name, entry] : d->bundles) {
    EXPECT_FALSE(name.starts_with("group-") || name == "overlay") << name;
    if (!name.starts_with("expert-")) continue;
    ++expert_bundles;
    const int layer = entry.facts.at("layer").get<int>();
    const int expert = entry.facts.at("expert").get<int>();
    EXPECT_EQ(name, ExpertBundleName(layer, expert));
    ASSERT_EQ(entry.files.size(), 1u) << name << ": one shard, no index";
    auto file = SafetensorsFile::Open(dist + "/" + name + "/" + entry.files[0].path);
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    const std::string prefix = fmt::format("model.layers.{}.mlp.experts.{}.", layer, expert);
    EXPECT_EQ((*file)->tensors().size(), 3u) << name;  // gate, up, down
    for (const auto& t : (*file)->tensors()) EXPECT_TRUE(t.name.starts_with(prefix)) << t.name;
  }
  EXPECT_EQ(expert_bundles, plan.layers.size() * size_t(plan.num_experts));

  for (int g = 0; g < plan.num_groups; ++g) {
    const std::string node = "node-" + std::to_string(g);
    const NodeEntry* entry = d->FindNode(node);
    ASSERT_NE(entry, nullptr);
    std::vector<std::string> want = {"trunk"};
    for (const auto& [layer, _] : plan.layers) {
      for (int e : plan.NodeExperts(layer, g)) want.push_back(ExpertBundleName(layer, e));
    }
    want.push_back(node);
    EXPECT_EQ(entry->bundles, want);
  }

  VerifyOptions verify;
  verify.dist_dir = dist;
  verify.allow_unsigned = true;
  const VerifyReport report = VerifyRelease(verify);
  EXPECT_TRUE(report.ok()) << (report.problems.empty() ? "" : report.problems[0].message);
}

TEST(PackExpertLayout, MovingExpertsDownloadsOnlyThoseExperts) {
  const ExpertPlan before = BasePlan();
  const int layer = before.layers.begin()->first;
  // Experts 0 (group 0) and 1 (group 1) trade places in one layer: k = 2 moves.
  ExpertPlan after = before;
  Swap(after, layer, 0, 1);
  ASSERT_NE(after.layers.at(layer).groups, before.layers.at(layer).groups);

  TempDir tmp;
  for (PackLayoutKind layout : {PackLayoutKind::kExperts, PackLayoutKind::kGroups}) {
    const std::string name(PackLayoutKindName(layout));
    SCOPED_TRACE(name);
    Distribution old_d, new_d;
    ASSERT_NO_FATAL_FAILURE(PackBoth(before, after, layout, tmp, &old_d, &new_d));
    const ReleaseDiff diff = DiffReleases(old_d, new_d);
    EXPECT_EQ(diff.moved.size(), 2u);
    // Node 0 now holds expert 1 of `layer`, node 1 expert 0.
    for (auto [node, gained] : {std::pair{"node-0", 1}, std::pair{"node-1", 0}}) {
      const NodeDownload& n = NodeIn(diff, node);
      const uint64_t own = ChangedNodeFileBytes(old_d, new_d, node);
      if (layout == PackLayoutKind::kExperts) {
        EXPECT_EQ(n.download_bytes_own, BundleBytes(new_d, ExpertBundleName(layer, gained)) + own)
            << node;
        // The node files that changed are small beside what a node holds.
        EXPECT_LT(own * 10, n.bytes) << node;
      } else {
        // A group is one shard: the whole group file is new.
        const std::string group = "group-" + std::string(node).substr(5);
        EXPECT_GE(n.download_bytes_own, BundleBytes(new_d, group) - 4096) << node;
      }
      fmt::print("{} layout, 2 experts moved: {} downloads {} of {} bytes\n", name, node,
                 n.download_bytes_own, n.bytes);
    }
  }
}

TEST(PackExpertLayout, OverlayOnlyChangeRewritesNoExpertFile) {
  const ExpertPlan before = BasePlan();
  // Another generalist: expert 0 leaves group 0 for the overlay in every layer.
  ExpertPlan after = before;
  for (auto& [layer, lp] : after.layers) {
    auto& g0 = lp.groups[0];
    g0.erase(std::find(g0.begin(), g0.end(), 0));
    lp.overlay.insert(lp.overlay.begin(), 0);
  }
  TempDir tmp;
  for (PackLayoutKind layout : {PackLayoutKind::kExperts, PackLayoutKind::kGroups}) {
    const std::string name(PackLayoutKindName(layout));
    SCOPED_TRACE(name);
    Distribution old_d, new_d;
    ASSERT_NO_FATAL_FAILURE(PackBoth(before, after, layout, tmp, &old_d, &new_d));
    const ReleaseDiff diff = DiffReleases(old_d, new_d);
    ASSERT_FALSE(diff.overlay.empty());
    std::set<std::string> changed;
    for (const FileChange& f : diff.files) changed.insert(f.bundle);
    if (layout == PackLayoutKind::kExperts) {
      for (const auto& [bundle, entry] : new_d.bundles) {
        if (bundle.starts_with("expert-")) {
          EXPECT_EQ(entry.files, old_d.bundles.at(bundle).files) << bundle;
        }
      }
      EXPECT_EQ(changed, (std::set<std::string>{"node-0", "node-1"}));
      EXPECT_TRUE(diff.bundles_added.empty() && diff.bundles_removed.empty());
    } else {
      // The groups layout cannot keep a group file when its experts change.
      EXPECT_TRUE(changed.count("group-0")) << "group-0 unchanged";
      EXPECT_TRUE(changed.count("overlay")) << "overlay unchanged";
    }
  }
}

TEST(PackExpertLayout, GgufOnlyIsRefusedNamingTheReason) {
  TempDir tmp;
  PackRequest request = MakeRequest(FixtureDir(kFamily), BasePlan(), tmp.Sub("dist"));
  request.layout = PackLayoutKind::kExperts;
  request.format = NodeFileFormat::kGguf;
  auto report = PackRelease(request);
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find("--layout experts with --format gguf"),
            std::string::npos)
      << report.status().ToString();
}

TEST(PackExpertLayout, LayoutNamesParse) {
  EXPECT_EQ(ParsePackLayoutKind("experts"), PackLayoutKind::kExperts);
  EXPECT_EQ(ParsePackLayoutKind("groups"), PackLayoutKind::kGroups);
  EXPECT_FALSE(ParsePackLayoutKind("expert").has_value());
  EXPECT_EQ(ExpertBundleName(3, 17), "expert-3-17");
}

}  // namespace
}  // namespace moedist::pack_testing
