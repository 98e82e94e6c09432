#pragma once
// Cold code compiled once. Functions that are not templates (dataset readers,
// reports, metrics, files) are declared MIXTRAIN_COLD. Header-only (the
// default), they are inline and each header includes its definitions
// (<dir>/impl/*.ipp) at its end. With MIXTRAIN_SEPARATE_COMPILATION (set by
// mixtrain_add_recipe), a recipe sees the declarations only and links
// mixtrain_cold, the one translation unit that includes
// <mixtrain/impl/cold_code.hpp> with MIXTRAIN_COMPILING_COLD_CODE: recipes no
// longer each compile and optimise the same readers and reports (see
// docs/architecture.md, "Cold code compiled once").
#if defined(MIXTRAIN_SEPARATE_COMPILATION)
#define MIXTRAIN_COLD
#if defined(MIXTRAIN_COMPILING_COLD_CODE)
#define MIXTRAIN_COLD_DEFINITIONS_HERE 1
#else
#define MIXTRAIN_COLD_DEFINITIONS_HERE 0
#endif
#else
#define MIXTRAIN_COLD inline
#define MIXTRAIN_COLD_DEFINITIONS_HERE 1
#endif
