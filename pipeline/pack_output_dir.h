// What `pack` may replace (docs/reliability.md rows 30-34). pack writes a new release beside the
// old one and switches directories (manifest/release_stage.h), deleting the old directory whole;
// CheckReleaseDirContents makes sure that directory holds only what pack writes, so another
// tool's files are never deleted.
// Thread safety: pure functions of the directory's content.
#pragma once

#include <string>

#include "core/status.h"

namespace moedist {

// True for the bundle directory names pack writes: trunk, overlay, group-<k>, node-<g>.
bool IsPackBundleName(const std::string& name);
// True for the file names pack writes inside a bundle directory.
bool IsPackBundleFileName(const std::string& name);

// Refuses, naming it, any entry of `dist` that pack does not write: other top-level files,
// directories with other names, subdirectories or links inside bundles, unknown file names.
Status CheckReleaseDirContents(const std::string& dist);

}  // namespace moedist
