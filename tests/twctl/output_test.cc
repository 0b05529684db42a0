// twctl's output helpers: control characters from the server never reach the
// terminal raw (EscapeControls, EscapeTerminalOutput), tables included.
#include "control/twctl/output.h"

#include <gtest/gtest.h>

#include <iostream>
#include <sstream>
#include <string>

namespace tierwall::ctl::twctl {
namespace {

TEST(EscapeControls, C0DelAndC1AreEscapedNewlineAndTabKept) {
  EXPECT_EQ(EscapeControls("a\x1b[31mb"), "a\\u001b[31mb");
  EXPECT_EQ(EscapeControls(std::string("nul\0x", 5)), "nul\\u0000x");
  EXPECT_EQ(EscapeControls("bell\x07 del\x7f cr\r"), "bell\\u0007 del\\u007f cr\\u000d");
  EXPECT_EQ(EscapeControls("csi\xc2\x9b"
                           "2J"),
            "csi\\u009b2J");
  EXPECT_EQ(EscapeControls("line\n\tindent"), "line\n\tindent");
  // UTF-8 text that is not a control stays as it is (é is C3 A9, U+00A0 is C2 A0).
  EXPECT_EQ(EscapeControls("caf\xc3\xa9 \xc2\xa0 \xe2\x96\x84"),
            "caf\xc3\xa9 \xc2\xa0 \xe2\x96\x84");
}

TEST(EscapeControls, LeadByteSplitAcrossWrites) {
  bool pending = false;
  std::string out = EscapeControls("x\xc2", &pending);
  EXPECT_TRUE(pending);
  out += EscapeControls(
      "\x9b"
      "y",
      &pending);
  EXPECT_FALSE(pending);
  EXPECT_EQ(out, "x\\u009by");
  out = EscapeControls("\xc2", &pending);
  out += EscapeControls("\xa9", &pending);
  EXPECT_EQ(out, "\xc2\xa9");
}

// The attack through `twctl get`: a name that holds an escape sequence,
// printed in a table cell, comes out escaped.
TEST(EscapeTerminalOutput, TablesPrintedThroughCoutAreEscaped) {
  std::ostringstream captured;
  std::streambuf* real = std::cout.rdbuf(captured.rdbuf());
  EscapeTerminalOutput();
  PrintTable({{"NAME", "TIER"}, {"evil\x1b[2J\xc2\x9b", "a\nb"}, {"ok", "-"}});
  std::cout << "msg \x1b]0;title\x07" << std::flush;
  std::cout.rdbuf(real);
  EXPECT_EQ(captured.str(),
            "NAME                 TIER\n"
            "evil\\u001b[2J\\u009b  a\\u000ab\n"
            "ok                   -\n"
            "msg \\u001b]0;title\\u0007");
}

}  // namespace
}  // namespace tierwall::ctl::twctl
