#include "pipeline/release_trust.h"

#include "manifest/release_verify.h"

namespace moedist {

std::string_view ReleaseTrustName(ReleaseTrust trust) {
  switch (trust) {
    case ReleaseTrust::kSignature: return "signature";
    case ReleaseTrust::kDigestsOnly: return "digests (unsigned: signature NOT CHECKED)";
    case ReleaseTrust::kNotChecked: return "none (--no-verify: UNVERIFIED)";
  }
  return "?";
}

std::string_view ReleaseTrustKey(ReleaseTrust trust) {
  switch (trust) {
    case ReleaseTrust::kSignature: return "signature";
    case ReleaseTrust::kDigestsOnly: return "digests";
    case ReleaseTrust::kNotChecked: return "none";
  }
  return "?";
}

Status CheckTrustChoice(const ReleaseTrustOptions& o) {
  const int ways = !o.trusted_keys.empty() + o.allow_unsigned + o.no_verify;
  if (ways == 1) return Status::Ok();
  return Status::InvalidArgument(
      "{}", ways == 0
                ? "give --pubkey (repeatable) to check the release's signature, or --unsigned to "
                  "check its digests only"
                : "give only one of --pubkey, --unsigned and --no-verify");
}

Result<ReleaseTrust> CheckRelease(const std::string& dist, const ReleaseTrustOptions& o,
                                  const std::optional<std::string>& node,
                                  const std::vector<std::string>& bundles) {
  RETURN_IF_ERROR(CheckTrustChoice(o));
  if (o.no_verify) return ReleaseTrust::kNotChecked;
  VerifyOptions v;
  v.dist_dir = dist;
  v.trusted_keys = o.trusted_keys;
  v.allow_unsigned = o.allow_unsigned;
  v.node = node;
  v.bundles = bundles;
  v.threads = o.threads;
  const VerifyReport r = VerifyRelease(v);
  if (r.ok()) return r.signature_checked ? ReleaseTrust::kSignature : ReleaseTrust::kDigestsOnly;
  const VerifyProblem& first = r.problems.front();
  const std::string more =
      r.problems.size() > 1 ? fmt::format(" (and {} more problems)", r.problems.size() - 1) : "";
  const std::string message =
      fmt::format("{}: verification failed: [{}] {}{}; `moedist verify` lists every problem", dist,
                  VerifyCheckName(first.check), first.message, more);
  if (r.ExitCode() == 4) return Status::IoError("{}", message);
  return Status::Corruption("{}", message);
}

}  // namespace moedist
