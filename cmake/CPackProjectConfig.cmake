# Read by cpack before it builds a package (CPACK_PROJECT_CONFIG_FILE).
# A Debian package is for any amd64 machine: a library tuned with -march=native
# (TAPEGRAD_NATIVE=ON) would stop with SIGILL on a CPU without the build machine's
# instructions, so it is not packaged.
if(CPACK_GENERATOR STREQUAL "DEB" AND CPACK_TAPEGRAD_NATIVE)
  message(FATAL_ERROR "tapegrad: this build is tuned for its machine (TAPEGRAD_NATIVE=ON); "
                      "configure a package build with -DTAPEGRAD_NATIVE=OFF (scripts/test-packaging does)")
endif()
