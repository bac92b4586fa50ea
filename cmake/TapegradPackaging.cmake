# Installing tapegrad (cmake --install), and the three descriptions of the installed
# library: the CMake package (tapegradConfig.cmake, tapegradConfigVersion.cmake and
# the exported target tapegrad::tapegrad), tapegrad.pc for pkg-config, and the Debian
# package libtapegrad-dev (cpack -G DEB, top-level builds only).
#
# What users of the installed library must find is derived from what the target
# links, when the whole project has been read (cmake_language(DEFER)), so a library
# added to or removed from target_link_libraries reaches all three files by itself;
# a library this file cannot describe stops the configure step instead of being
# silently left out.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(TAPEGRAD_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/tapegrad")
set(TAPEGRAD_INSTALL_PKGCONFIGDIR "${CMAKE_INSTALL_LIBDIR}/pkgconfig")

# The installed target: headers under <prefix>/include, and the same -include of
# <tapegrad/core/version.hpp> (the ABI pin) as in the build tree.
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(_tapegrad_installed_includedir "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(_tapegrad_installed_includedir "$<INSTALL_PREFIX>/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
target_include_directories(tapegrad PUBLIC $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_compile_options(tapegrad PUBLIC
  "$<INSTALL_INTERFACE:$<$<COMPILE_LANGUAGE:CXX>:SHELL:-include ${_tapegrad_installed_includedir}/tapegrad/core/version.hpp>>")

install(TARGETS tapegrad EXPORT tapegradTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# Headers, as real files, in the layout the source tree shows through include/:
# include/tapegrad/tapegrad.hpp, include/tapegrad/<layer>/*.hpp for each layer
# folder that include/tapegrad/ links to. Not installed: the SIMD kernel headers
# of the library's .cpp files, i.e. every header that includes <xsimd/...> or
# <immintrin.h> or, in turn, such a header. Their types depend on the instruction
# set the including file is compiled for, so they are kept out of the interface.
set(_tapegrad_include_root "${PROJECT_SOURCE_DIR}/include/tapegrad")
file(GLOB _tapegrad_top_headers CONFIGURE_DEPENDS "${_tapegrad_include_root}/*.hpp")
install(FILES ${_tapegrad_top_headers} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/tapegrad)
file(GLOB _tapegrad_layers LIST_DIRECTORIES true RELATIVE "${_tapegrad_include_root}"
     "${_tapegrad_include_root}/*")
set(_tapegrad_headers "")  # <layer>/<file>.hpp
foreach(_layer IN LISTS _tapegrad_layers)
  if(IS_DIRECTORY "${_tapegrad_include_root}/${_layer}")
    file(GLOB _files CONFIGURE_DEPENDS RELATIVE "${_tapegrad_include_root}" "${_tapegrad_include_root}/${_layer}/*.hpp")
    list(APPEND _tapegrad_headers ${_files})
  endif()
endforeach()
set(TAPEGRAD_INTERNAL_HEADERS "")
foreach(_header IN LISTS _tapegrad_headers)
  file(STRINGS "${_tapegrad_include_root}/${_header}" _simd REGEX "^[ \t]*#[ \t]*include[ \t]*<(xsimd/|immintrin\\.h)")
  if(_simd)
    list(APPEND TAPEGRAD_INTERNAL_HEADERS "${_header}")
  endif()
endforeach()
set(_grew TRUE)
while(_grew)
  set(_grew FALSE)
  foreach(_header IN LISTS _tapegrad_headers)
    if(_header IN_LIST TAPEGRAD_INTERNAL_HEADERS)
      continue()
    endif()
    file(STRINGS "${_tapegrad_include_root}/${_header}" _includes REGEX "^[ \t]*#[ \t]*include[ \t]*<tapegrad/")
    foreach(_line IN LISTS _includes)
      string(REGEX REPLACE ".*<tapegrad/([^>]+)>.*" "\\1" _target "${_line}")
      if(_target IN_LIST TAPEGRAD_INTERNAL_HEADERS)
        list(APPEND TAPEGRAD_INTERNAL_HEADERS "${_header}")
        set(_grew TRUE)
        break()
      endif()
    endforeach()
  endforeach()
endwhile()
foreach(_header IN LISTS _tapegrad_headers)
  if(NOT _header IN_LIST TAPEGRAD_INTERNAL_HEADERS)
    get_filename_component(_dir "${_header}" DIRECTORY)
    # the real file behind the include/tapegrad/<layer> link
    file(REAL_PATH "${_tapegrad_include_root}/${_header}" _file)
    install(FILES "${_file}" DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/tapegrad/${_dir})
  endif()
endforeach()

install(EXPORT tapegradTargets NAMESPACE tapegrad:: FILE tapegradTargets.cmake
        DESTINATION ${TAPEGRAD_INSTALL_CMAKEDIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/tapegradConfigVersion.cmake
                                 COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/tapegradConfig.cmake ${PROJECT_BINARY_DIR}/tapegradConfigVersion.cmake
        DESTINATION ${TAPEGRAD_INSTALL_CMAKEDIR})

# tapegrad.pc names the prefix it is installed to, which `cmake --install --prefix`
# chooses after configuring: it is written at install time from the configured
# template (cmake/tapegrad.pc.in, filled at the end of the configure step).
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(TAPEGRAD_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
else()
  set(TAPEGRAD_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(TAPEGRAD_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(TAPEGRAD_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
install(CODE "
  file(READ \"${PROJECT_BINARY_DIR}/tapegrad.pc.configured\" _pc)
  string(REPLACE \"@TAPEGRAD_PC_PREFIX@\" \"\${CMAKE_INSTALL_PREFIX}\" _pc \"\${_pc}\")
  file(WRITE \"${PROJECT_BINARY_DIR}/pkgconfig/tapegrad.pc\" \"\${_pc}\")
  file(INSTALL DESTINATION \"\${CMAKE_INSTALL_PREFIX}/${TAPEGRAD_INSTALL_PKGCONFIGDIR}\" TYPE FILE
       FILES \"${PROJECT_BINARY_DIR}/pkgconfig/tapegrad.pc\")")

# ---- what a user of the installed library needs, per library tapegrad links ----
#
# _tapegrad_describe(item) sets, in the caller:
#   _cmake  the lines of tapegradConfig.cmake that recreate the imported target
#   _pc     pkg-config modules for tapegrad.pc's Requires
#   _deb    Debian packages for the .deb's Depends
function(_tapegrad_describe item)
  set(_cmake "")
  set(_pc "")
  set(_deb "")
  if(item STREQUAL "xtensor")
    # tapegrad's symbols contain xtensor's types: the same minor version is needed.
    math(EXPR _next "${xtensor_VERSION_MINOR} + 1")
    set(_cmake "find_dependency(xtensor ${xtensor_VERSION}...<${xtensor_VERSION_MAJOR}.${_next})")
    set(_pc "xtensor >= ${xtensor_VERSION}" "xtensor < ${xtensor_VERSION_MAJOR}.${_next}")
    set(_deb "xtensor-dev (>= ${xtensor_VERSION})" "xtensor-dev (<< ${xtensor_VERSION_MAJOR}.${_next})")
  elseif(item STREQUAL "xtensor-blas")
    set(_cmake "find_dependency(xtensor-blas ${xtensor-blas_VERSION})")
    set(_deb "libxtensor-blas-dev (>= ${xtensor-blas_VERSION})")
  elseif(item STREQUAL "xsimd")
    math(EXPR _next "${xsimd_VERSION_MAJOR} + 1")
    set(_cmake "find_dependency(xsimd ${xsimd_VERSION}...<${_next})")
    set(_pc "xsimd >= ${xsimd_VERSION}" "xsimd < ${_next}")
    set(_deb "libxsimd-dev (>= ${xsimd_VERSION})" "libxsimd-dev (<< ${_next})")
  elseif(item STREQUAL "BLAS::BLAS")
    set(_cmake "find_dependency(BLAS)")
    if(BLAS_LIBRARIES MATCHES "openblas")
      set(_pc "openblas")
      set(_deb "libopenblas-dev")
    else()
      set(_pc "blas")
      set(_deb "libblas-dev")
    endif()
  elseif(item STREQUAL "ZLIB::ZLIB")
    set(_cmake "find_dependency(ZLIB)")
    set(_pc "zlib")
    set(_deb "zlib1g-dev")
  elseif(item STREQUAL "PNG::PNG")
    set(_cmake "find_dependency(PNG)")
    set(_pc "libpng")
    set(_deb "libpng-dev")
  elseif(item STREQUAL "Threads::Threads")
    set(_cmake "find_dependency(Threads)")
  elseif(item MATCHES "^(m|dl|rt|pthread)$")
    # libc's; nothing to find
  elseif(item MATCHES "^PkgConfig::(.+)$")
    # pkg_check_modules(<prefix> ... IMPORTED_TARGET <modules>): the config file runs
    # the same check; the modules are <prefix>_MODULE_NAME (one) or the values of
    # <prefix>_<module>_MODULE_NAME (several).
    set(_prefix "${CMAKE_MATCH_1}")
    set(_modules "")
    if(${_prefix}_MODULE_NAME)
      list(APPEND _modules "${${_prefix}_MODULE_NAME}")
    else()
      get_directory_property(_vars DIRECTORY "${PROJECT_SOURCE_DIR}" VARIABLES)
      foreach(_var IN LISTS _vars)
        if(_var MATCHES "^${_prefix}_.+_MODULE_NAME$" AND ${_var})
          list(APPEND _modules "${${_var}}")
        endif()
      endforeach()
    endif()
    if(NOT _modules)
      message(FATAL_ERROR "tapegrad links ${item}, but no pkg-config module names were found for it "
                          "(expected ${_prefix}_MODULE_NAME from pkg_check_modules)")
    endif()
    list(JOIN _modules " " _mods)
    set(_cmake
      "find_dependency(PkgConfig)"
      "pkg_check_modules(${_prefix} QUIET IMPORTED_TARGET ${_mods})"
      "if(NOT ${_prefix}_FOUND)"
      "  set(tapegrad_FOUND FALSE)"
      "  set(tapegrad_NOT_FOUND_MESSAGE \"tapegrad needs the pkg-config modules ${_mods}\")"
      "  return()"
      "endif()")
    set(_pc ${_modules})
    # The Debian package that holds each module's .pc file.
    foreach(_module IN LISTS _modules)
      execute_process(COMMAND ${PKG_CONFIG_EXECUTABLE} --variable=pcfiledir ${_module}
                      OUTPUT_VARIABLE _pcdir OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE _rc)
      set(_owner "")
      if(_rc EQUAL 0)
        execute_process(COMMAND dpkg-query -S "${_pcdir}/${_module}.pc"
                        OUTPUT_VARIABLE _owner ERROR_QUIET OUTPUT_STRIP_TRAILING_WHITESPACE)
      endif()
      if(_owner MATCHES "^([^:, ]+)")
        list(APPEND _deb "${CMAKE_MATCH_1}")
      elseif(TAPEGRAD_TOP_LEVEL)
        message(WARNING "tapegrad: no Debian package owns ${_module}.pc; the .deb's Depends lack it")
      endif()
    endforeach()
  else()
    message(FATAL_ERROR "tapegrad links '${item}', which cmake/TapegradPackaging.cmake cannot describe "
                        "to users of the installed library: add it to _tapegrad_describe (its "
                        "find_dependency line, pkg-config module and Debian package)")
  endif()
  set(_cmake "${_cmake}" PARENT_SCOPE)
  set(_pc "${_pc}" PARENT_SCOPE)
  set(_deb "${_deb}" PARENT_SCOPE)
endfunction()

# Runs when the whole project has been read: fills tapegradConfig.cmake and tapegrad.pc
# and, at the top level, the Debian package's settings.
function(_tapegrad_write_package_files)
  get_target_property(_all tapegrad LINK_LIBRARIES)
  get_target_property(_iface tapegrad INTERFACE_LINK_LIBRARIES)
  set(_public "")
  foreach(_item IN LISTS _iface)
    if(NOT _item MATCHES "^\\$<LINK_ONLY:")
      list(APPEND _public "${_item}")
    endif()
  endforeach()
  set(cmake_lines "")
  set(pc_public "")
  set(pc_private "")
  set(deb "")
  list(REMOVE_DUPLICATES _all)
  foreach(_item IN LISTS _all)
    if(_item MATCHES "^\\$<")
      message(FATAL_ERROR "tapegrad links '${_item}': describe generator expressions in "
                          "cmake/TapegradPackaging.cmake before using them")
    endif()
    _tapegrad_describe("${_item}")
    list(APPEND deb ${_deb})
    # A static library's users link its dependencies themselves: all are public then.
    # A shared library's private dependencies are its own business.
    list(FIND _public "${_item}" _is_public)
    if(_is_public GREATER -1 OR NOT BUILD_SHARED_LIBS)
      list(APPEND cmake_lines ${_cmake})
      list(APPEND pc_public ${_pc})
    else()
      list(APPEND pc_private ${_pc})
    endif()
  endforeach()
  list(REMOVE_DUPLICATES cmake_lines)
  list(JOIN cmake_lines "\n" TAPEGRAD_CONFIG_DEPENDENCIES)
  list(REMOVE_DUPLICATES pc_public)
  list(REMOVE_DUPLICATES pc_private)
  list(JOIN pc_public ", " TAPEGRAD_PC_REQUIRES)
  list(JOIN pc_private ", " TAPEGRAD_PC_REQUIRES_PRIVATE)
  set(TAPEGRAD_PC_REQUIRES_PRIVATE_LINE "")
  if(TAPEGRAD_PC_REQUIRES_PRIVATE)
    set(TAPEGRAD_PC_REQUIRES_PRIVATE_LINE "Requires.private: ${TAPEGRAD_PC_REQUIRES_PRIVATE}\n")
  endif()

  configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/tapegradConfig.cmake.in
                                ${PROJECT_BINARY_DIR}/tapegradConfig.cmake
                                INSTALL_DESTINATION ${TAPEGRAD_INSTALL_CMAKEDIR})
  set(TAPEGRAD_PC_PREFIX "@TAPEGRAD_PC_PREFIX@")  # filled at install time
  configure_file(${PROJECT_SOURCE_DIR}/cmake/tapegrad.pc.in ${PROJECT_BINARY_DIR}/tapegrad.pc.configured @ONLY)

  if(NOT TAPEGRAD_TOP_LEVEL)
    return()
  endif()
  # ---- the Debian package: cpack -G DEB --config <build>/CPackConfig.cmake ----
  # io/plot.cpp reads DejaVu Sans from /usr/share/fonts/truetype/dejavu at run time.
  list(APPEND deb "fonts-dejavu-core")
  list(REMOVE_DUPLICATES deb)
  list(JOIN deb ", " CPACK_DEBIAN_PACKAGE_DEPENDS)
  set(CPACK_GENERATOR DEB)
  set(CPACK_PACKAGE_NAME libtapegrad-dev)
  set(CPACK_PACKAGE_VENDOR tapegrad)
  set(CPACK_PACKAGE_CONTACT "tapegrad maintainers <maintainers@tapegrad.invalid>")
  set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "reverse-mode automatic differentiation for tensors (C++17, xtensor)")
  set(CPACK_PACKAGE_DESCRIPTION
      "tapegrad is a small reverse-mode automatic-differentiation library on xtensor and BLAS: an explicit tape, tensor ops, layers, multiclass hinge and softmax losses (fused and composed), gradient checks, optimizers, and NumPy, IDX, checkpoint and PNG files. This package holds the static library, the headers, the CMake package (find_package(tapegrad)) and tapegrad.pc.")
  set(CPACK_DEBIAN_PACKAGE_SECTION libdevel)
  set(CPACK_DEBIAN_PACKAGE_SUGGESTS "cmake, pkgconf")
  set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
  set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
  # Install with DESTDIR, so install-time code (tapegrad.pc) sees the real prefix.
  set(CPACK_SET_DESTDIR ON)
  set(CPACK_TAPEGRAD_NATIVE ${TAPEGRAD_NATIVE})
  set(CPACK_PROJECT_CONFIG_FILE ${PROJECT_SOURCE_DIR}/cmake/CPackProjectConfig.cmake)
  include(CPack)
endfunction()

cmake_language(DEFER DIRECTORY ${PROJECT_SOURCE_DIR} CALL _tapegrad_write_package_files)
