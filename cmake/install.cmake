# `cmake --install BUILD --prefix PREFIX`: herd's libraries and headers, the herd program, the
# CMake package (find_package(herd), target herd::herd), the bash completion and, when built,
# the Python module. examples/extend/ is a project built against it (tests/package).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# herd::herd: the whole engine with the command line as a library (cli/command_line.hpp).
add_library(herd_package INTERFACE)
target_link_libraries(herd_package INTERFACE herd_cli)
set_target_properties(herd_package PROPERTIES EXPORT_NAME herd)

get_property(herd_install_targets GLOBAL PROPERTY HERD_INSTALL_TARGETS)
install(TARGETS ${herd_install_targets} herd_package EXPORT herdTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS herd RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/src/herd DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.hpp")

set(herd_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/herd)
install(EXPORT herdTargets NAMESPACE herd:: DESTINATION ${herd_cmake_dir})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/herdConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/herdConfig.cmake
                              INSTALL_DESTINATION ${herd_cmake_dir}
                              PATH_VARS CMAKE_INSTALL_BINDIR)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/herdConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/herdConfig.cmake ${PROJECT_BINARY_DIR}/herdConfigVersion.cmake
        DESTINATION ${herd_cmake_dir})

install(FILES ${PROJECT_SOURCE_DIR}/tools/herd-completion.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME herd)

if(HERD_WITH_PYTHON)
  # Debian's layout: PREFIX/lib/python3/dist-packages (PYTHONPATH names it for other prefixes).
  set(HERD_PYTHON_INSTALL_DIR lib/python3/dist-packages CACHE STRING
      "Where cmake --install puts the Python module herd, relative to the prefix")
  install(TARGETS _herd LIBRARY DESTINATION ${HERD_PYTHON_INSTALL_DIR}/herd)
  install(FILES ${PROJECT_SOURCE_DIR}/python/herd/__init__.py
          DESTINATION ${HERD_PYTHON_INSTALL_DIR}/herd)
endif()
