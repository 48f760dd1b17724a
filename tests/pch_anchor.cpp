// The translation unit that builds the tests' precompiled header (tests/CMakeLists.txt,
// rb_test_pch): torch's and GoogleTest's headers, which every C++ test that uses torch reuses.
