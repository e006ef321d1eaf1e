// The flags of commands that read part of a release (place, run, eval on DIST): --pubkey,
// --unsigned and, where `allow_no_verify`, --no-verify (pipeline/release_trust.h); and how run
// and eval tell a release node from a checkpoint.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "pipeline/release_node.h"
#include "pipeline/release_trust.h"

namespace moedist::cli {

struct ReleaseTrustFlags {
  std::vector<std::string> pubkeys;
  bool unsigned_ok = false;
  bool no_verify = false;

  void Add(CLI::App& sub, bool allow_no_verify) {
    sub.add_option("--pubkey", pubkeys,
                   "release: trusted Ed25519 public key (PEM) for the signature; repeatable");
    sub.add_flag("--unsigned", unsigned_ok,
                 "release: check digests against distribution.json, not the signature");
    if (allow_no_verify) {
      sub.add_flag("--no-verify", no_verify, "release: load the node without checking it");
    }
  }

  Result<ReleaseTrustOptions> Options() const {
    ReleaseTrustOptions o;
    o.allow_unsigned = unsigned_ok;
    o.no_verify = no_verify;
    for (const std::string& p : pubkeys) {
      ASSIGN_OR_RETURN(PublicKey key, PublicKey::Load(p));
      o.trusted_keys.push_back(std::move(key));
    }
    RETURN_IF_ERROR(CheckTrustChoice(o));
    return o;
  }

  // Flags given for a checkpoint, which has nothing to verify.
  bool any() const { return !pubkeys.empty() || unsigned_ok || no_verify; }
};

// True when `model_dir` names a node of a release: a release with `node.node` set (--node), or
// a node directory of one; fills `node` (its directory and trust). False for a checkpoint, for
// which the release flags are refused.
inline Result<bool> ResolveReleaseNode(const std::string& model_dir, const ReleaseTrustFlags& trust,
                                       ReleaseNodeOptions& node) {
  if (!node.node.empty()) {
    node.dist_dir = model_dir;
  } else {
    ASSIGN_OR_RETURN(bool is_node, ResolveReleaseNodePath(model_dir, node.dist_dir, node.node));
    if (!is_node) {
      if (trust.any() || node.gguf) {
        return Status::InvalidArgument(
            "--pubkey, --unsigned, --no-verify and --gguf are for a node of a release "
            "(DIST --node node-<k>)");
      }
      return false;
    }
  }
  ASSIGN_OR_RETURN(node.trust, trust.Options());
  return true;
}

}  // namespace moedist::cli
