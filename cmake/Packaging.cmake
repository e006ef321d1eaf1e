# Installing moedist like a tool (README, "Installing"): the binary in bin/ and its bash
# completion (apps/CMakeLists.txt), the JSON schemas its outputs follow in share/moedist/schemas,
# the docs in share/doc/moedist; and a Debian package of the same files (cpack -G DEB).
install(DIRECTORY ${PROJECT_SOURCE_DIR}/schemas/ DESTINATION ${CMAKE_INSTALL_DATADIR}/moedist/schemas
        FILES_MATCHING PATTERN "*.json")
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME moedist)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "turn a Mixture-of-Experts checkpoint into signed per-node bundles")
set(CPACK_PACKAGE_CONTACT "moedist maintainers <moedist@localhost>")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
# The shared libraries the binary links (readelf -d build/apps/moedist, NEEDED), by the Debian 12
# package that provides each: OpenSSL (Ed25519, SHA-256), zstd and libarchive (package/unpack),
# fmt, OpenBLAS (runtime-min's matmuls), the C/C++ runtime. tests.deb_package checks this list
# against the binary.
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "libc6 (>= 2.34), libstdc++6 (>= 12), libgcc-s1, libssl3, libzstd1, libarchive13, libfmt9, libopenblas0")
set(CPACK_STRIP_FILES ON)
include(CPack)
