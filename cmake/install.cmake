# cmake --install: the library (core, messaging, cache and the closest-region
# client), its headers under include/geocache/, a CMake package
# (find_package(geocache) -> geocache::geocache and one target per part) and
# a pkg-config file (geocache.pc), plus the geocached and geocache_relay
# programs and the licence.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(GEOCACHE_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/geocache)

# Consumers name the parts geocache::core, geocache::cache, ...
foreach(part core messaging cache client)
  set_target_properties(geocache_${part} PROPERTIES EXPORT_NAME ${part})
endforeach()
# geocache::geocache: everything a program embedding the cache or using the
# client needs.
add_library(geocache_all INTERFACE)
target_link_libraries(geocache_all INTERFACE geocache_cache geocache_client)
set_target_properties(geocache_all PROPERTIES EXPORT_NAME geocache)

install(TARGETS geocache_core geocache_messaging geocache_cache geocache_client geocache_all
        EXPORT geocacheTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS geocached geocache_relay RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
foreach(dir core messaging cache client)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/src/${dir}/
          DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/geocache/${dir}
          FILES_MATCHING PATTERN "*.h")
endforeach()
install(EXPORT geocacheTargets NAMESPACE geocache:: DESTINATION ${GEOCACHE_INSTALL_CMAKEDIR})

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/geocacheConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/geocacheConfig.cmake
                              INSTALL_DESTINATION ${GEOCACHE_INSTALL_CMAKEDIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/geocacheConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/geocacheConfig.cmake ${PROJECT_BINARY_DIR}/geocacheConfigVersion.cmake
        DESTINATION ${GEOCACHE_INSTALL_CMAKEDIR})

# From <prefix>/<libdir>/pkgconfig back up to <prefix>.
file(RELATIVE_PATH GEOCACHE_PC_TO_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
configure_file(${PROJECT_SOURCE_DIR}/cmake/geocache.pc.in ${PROJECT_BINARY_DIR}/geocache.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/geocache.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/geocache)
