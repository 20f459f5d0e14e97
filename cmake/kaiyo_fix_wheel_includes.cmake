# Injected into every CMake project of the workspace with -DCMAKE_PROJECT_INCLUDE=<this file>.
#
# Why: the ros-jazzy-* wheels export CMake targets (e.g. *__rosidl_generator_py) whose
# INTERFACE_INCLUDE_DIRECTORIES name the Python and numpy include directories of the machine
# that built the wheels (/opt/python/cp311-cp311/...). CMake refuses imported targets with
# non-existent include paths. At the end of configure we swap every such path on imported
# targets for this interpreter's Python include dir and numpy's. Nothing inside the venv is
# edited. KAIYO_PYTHON_INCLUDE and KAIYO_NUMPY_INCLUDE are passed on the command line.

function(kaiyo_fix_imported_include_dirs)
  get_property(_targets DIRECTORY "${CMAKE_SOURCE_DIR}" PROPERTY IMPORTED_TARGETS)
  foreach(_t IN LISTS _targets)
    get_target_property(_dirs ${_t} INTERFACE_INCLUDE_DIRECTORIES)
    if(NOT _dirs)
      continue()
    endif()
    set(_new "")
    set(_changed FALSE)
    foreach(_d IN LISTS _dirs)
      if(_d MATCHES "numpy" AND NOT EXISTS "${_d}")
        list(APPEND _new "${KAIYO_NUMPY_INCLUDE}")
        set(_changed TRUE)
      elseif(_d MATCHES "include/python3" AND NOT EXISTS "${_d}")
        list(APPEND _new "${KAIYO_PYTHON_INCLUDE}")
        set(_changed TRUE)
      else()
        list(APPEND _new "${_d}")
      endif()
    endforeach()
    if(_changed)
      list(REMOVE_DUPLICATES _new)
      set_target_properties(${_t} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_new}")
    endif()
  endforeach()
endfunction()

if(KAIYO_PYTHON_INCLUDE AND KAIYO_NUMPY_INCLUDE)
  cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL kaiyo_fix_imported_include_dirs)
endif()
