// consentry: the privacy-by-design gateway for the WhatsApp Business Platform.
#include "cli/cli.h"

int main(int argc, char** argv) { return cs::RunCli(argc, argv); }
