#pragma once
// The `herd` command line as a function, so that a program of its own (one that registers its
// own models and algorithms, examples/extend/) is the whole `herd` with them:
//
//   int main(int argc, char** argv) { return herd::cli::main(argc, argv); }
//
// Initialises MPI when mpirun started the process; returns the exit code (core/error.hpp).
namespace herd::cli {

int main(int argc, char** argv);

}  // namespace herd::cli
