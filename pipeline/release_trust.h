// Release trust: what a command that reads part of a release (place, run, eval on DIST) checks
// before it uses a byte of it, by the rules of `moedist verify` (manifest/release_verify.h):
//   --pubkey P   the signature over distribution.json with a trusted key, then the size and
//                SHA-256 of every file of the bundles read;
//   --unsigned   the same digests, the signature not checked (a release not signed yet: the
//                digests then only show the files are the ones distribution.json names);
//   --no-verify  nothing (run/eval only; a node you checked yourself).
// One of them must be chosen, as `verify` and `validate` insist on --pubkey or --unsigned.
// Thread safety: plain functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "manifest/release_signing.h"

namespace moedist {

struct ReleaseTrustOptions {
  std::vector<PublicKey> trusted_keys;
  bool allow_unsigned = false;
  bool no_verify = false;
  int threads = 0;  // digest threads; <= 0: one per hardware thread
};

enum class ReleaseTrust { kSignature, kDigestsOnly, kNotChecked };
// "signature", "digests (unsigned)", "none (--no-verify)": what was checked, as printed.
std::string_view ReleaseTrustName(ReleaseTrust trust);
// "signature", "digests", "none": the JSON value of "verified".
std::string_view ReleaseTrustKey(ReleaseTrust trust);

// InvalidArgument unless exactly one way is chosen (keys count as one).
Status CheckTrustChoice(const ReleaseTrustOptions& options);

// Verifies the bundles of `node` (if set) and `bundles` of the release in `dist`. A problem
// fails with the first one's message and the count: Corruption when a file or the signature is
// not what it should be (exit 3: the input is not the release it claims to be), IoError when
// the system refused. With no_verify, nothing is read and kNotChecked returned.
Result<ReleaseTrust> CheckRelease(const std::string& dist, const ReleaseTrustOptions& options,
                                  const std::optional<std::string>& node,
                                  const std::vector<std::string>& bundles);

}  // namespace moedist
