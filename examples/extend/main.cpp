// herd's command line, with the model "sphere" and the algorithm "doubling_sgd" of this
// program registered beside herd's own (sphere.cpp, doubling.cpp).
#include <herd/cli/command_line.hpp>

int main(int argc, char** argv) {
  return herd::cli::main(argc, argv);
}
