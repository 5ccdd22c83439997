// File: store_conformance.h
// The behaviour every Store backend must show. A backend's test file
// instantiates the suite with a factory:
//
//   INSTANTIATE_TEST_SUITE_P(Sqlite, StoreConformanceTest,
//                            ::testing::Values(StoreFactory{"sqlite", &MakeSqlite}));
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "store/store.h"

namespace cs {

struct StoreFactory {
  std::string name;
  // Returns a fresh, empty, unmigrated store.
  std::function<std::unique_ptr<Store>()> make;
};

class StoreConformanceTest : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override;
  std::unique_ptr<Store> store_;
};

}  // namespace cs
