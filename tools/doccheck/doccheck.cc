// doccheck — finds public declarations without a doc comment in clang's AST dump.
//
// What it is: a filter over the text AST dump of
//   clang++-14 -std=c++20 -fsyntax-only -fparse-all-comments -Xclang -ast-dump TU.cc
// (with -fparse-all-comments every `//` or `///` comment directly above a declaration, or a
// trailing `///<`, becomes a FullComment child of that declaration). It reports every
// declaration a user of pvkit can name that has no such comment:
//   - types: classes, structs, unions, enums, class templates, aliases/typedefs, concepts;
//   - functions: free functions, function templates and member functions (not constructors,
//     destructors, operators, implicit, defaulted or deleted ones);
// at namespace scope or in the public part of a documented type, outside anonymous
// namespaces and namespaces named detail/internal/impl or *_detail, outside function bodies and template
// instantiations, first declarations only (a documented declaration covers later ones).
// Fields, member aliases (register/entry field layouts such as `using Dpl = BitField<45, 2>;`
// and trait typedefs), enumerators and constants are not required: they are named fields.
//
// How to use it:
//   doccheck HEADERS.txt < dump.txt      HEADERS.txt: one include name per line
//                                        ("pvkit/base/status.h"); only declarations in files
//                                        whose path ends in "/<name>" are checked.
// Prints `<name>:<line>: <kind> <decl> has no doc comment` for each finding, a summary on
// stderr, and exits 1 if there was any finding (2 on a usage error).
//
// Concurrency: a single-threaded command-line tool.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace {

// One open node of the dump tree.
struct Node {
  int depth = 0;
  std::string kind;
  enum class Role { kOther, kNamespace, kRecord, kTemplate, kSkip } role = Role::kOther;
  bool is_public = true;       // for records: the access of the members seen so far
  bool check = false;          // this node must have a FullComment child
  bool documented = false;
  bool pattern_seen = false;   // for templates: the templated declaration came already
  std::string file, name, what;
  int line = 0;
};

// Tracks the dumper's abbreviated locations: a file name is printed only when it changes.
struct LocTracker {
  std::string file;
  int line = 0;

  // Parses one location token ("line:12:3", "col:4", "/x/y.h:12:3", "<invalid sloc>").
  void token(std::string_view t) {
    if (t.rfind("col:", 0) == 0 || t.empty() || t[0] == '<' || t.find('\'') != std::string_view::npos) return;
    if (t.rfind("line:", 0) == 0) {
      line = std::atoi(std::string(t.substr(5)).c_str());
      return;
    }
    const auto c2 = t.rfind(':');
    if (c2 == std::string_view::npos || c2 == 0) return;
    const auto c1 = t.rfind(':', c2 - 1);
    if (c1 == std::string_view::npos) return;
    file = std::string(t.substr(0, c1));
    line = std::atoi(std::string(t.substr(c1 + 1, c2 - c1 - 1)).c_str());
  }

  // Walks every location of a node line: the range "<a, b>" and the location after it.
  // Returns the line of the range's beginning (the declaration's first line).
  int scan(std::string_view s, std::string& begin_file) {
    int begin_line = -1;
    std::size_t i = 0;
    while ((i = s.find('<', i)) != std::string_view::npos) {
      // A quote before it: this '<' is inside a type ("'<dependent type>'"), not a range.
      if (s.substr(0, i).find('\'') != std::string_view::npos) return begin_line;
      // Find the matching '>' (spelling locations nest: "<a <Spelling=b>, c>").
      int nest = 0;
      std::size_t j = i;
      for (; j < s.size(); ++j) {
        if (s[j] == '<') ++nest;
        if (s[j] == '>' && --nest == 0) break;
      }
      if (j >= s.size()) return begin_line;
      std::string_view range = s.substr(i + 1, j - i - 1);
      if (range.rfind("invalid sloc", 0) == 0 || range.rfind("built-in", 0) == 0 ||
          range.rfind("scratch space", 0) == 0) {
        i = j + 1;
        continue;
      }
      // Tokens separated by ", " at nesting level 0; ignore "<Spelling=...>" parts.
      std::size_t k = 0;
      bool first = true;
      while (k < range.size()) {
        std::size_t e = k;
        int n = 0;
        while (e < range.size() && !(n == 0 && range[e] == ',')) {
          if (range[e] == '<') ++n;
          if (range[e] == '>') --n;
          ++e;
        }
        std::string_view tok = range.substr(k, e - k);
        while (!tok.empty() && tok.front() == ' ') tok.remove_prefix(1);
        const auto sp = tok.find(' ');
        if (sp != std::string_view::npos) tok = tok.substr(0, sp);
        token(tok);
        if (first && begin_line < 0) {
          begin_line = line;
          begin_file = file;
        }
        first = false;
        k = e + 1;
      }
      // The location after the range ("line:5:7" / "col:3" / "file:1:2").
      std::size_t a = j + 1;
      while (a < s.size() && s[a] == ' ') ++a;
      std::size_t b = s.find(' ', a);
      token(s.substr(a, b == std::string_view::npos ? std::string_view::npos : b - a));
      return begin_line;
    }
    return begin_line;
  }
};

bool starts(std::string_view s, std::string_view p) { return s.rfind(p, 0) == 0; }

bool has_word(std::string_view s, std::string_view w) {
  std::size_t i = 0;
  while ((i = s.find(w, i)) != std::string_view::npos) {
    const bool l = i == 0 || s[i - 1] == ' ';
    const bool r = i + w.size() == s.size() || s[i + w.size()] == ' ';
    if (l && r) return true;
    i += w.size();
  }
  return false;
}

// The declared name: the last identifier before the quoted type (functions) or at the end.
std::string decl_name(std::string_view rest) {
  const auto q = rest.find(" '");
  std::string_view head = q == std::string_view::npos ? rest : rest.substr(0, q);
  while (!head.empty() && head.back() == ' ') head.remove_suffix(1);
  const auto sp = head.rfind(' ');
  return std::string(sp == std::string_view::npos ? head : head.substr(sp + 1));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: doccheck HEADERS.txt < clang-ast-dump.txt\n");
    return 2;
  }
  std::vector<std::string> names;
  {
    std::ifstream in(argv[1]);
    for (std::string l; std::getline(in, l);)
      if (!l.empty() && l[0] != '#') names.push_back("/" + l);
  }
  auto checked_name = [&](const std::string& file) -> const std::string* {
    for (const auto& n : names)
      if (file.size() >= n.size() && file.compare(file.size() - n.size(), n.size(), n) == 0) return &n;
    return nullptr;
  };

  LocTracker loc;
  std::vector<Node> stack;
  std::set<std::tuple<std::string, int, std::string>> findings, seen;
  std::size_t checked = 0;

  auto close = [&](Node& n) {
    if (n.check && !n.documented) findings.insert({n.file.substr(1), n.line, n.what + " " + n.name});
  };

  for (std::string raw; std::getline(std::cin, raw);) {
    // Depth: the node's kind starts after the tree-drawing prefix ("| |-", "  `-").
    std::size_t p = 0;
    while (p < raw.size() && (raw[p] == ' ' || raw[p] == '|' || raw[p] == '`' || raw[p] == '-')) ++p;
    if (p >= raw.size()) continue;
    const int depth = static_cast<int>(p / 2);
    std::string_view s(raw);
    s.remove_prefix(p);
    const auto sp = s.find(' ');
    const std::string kind(s.substr(0, sp));
    std::string_view rest = sp == std::string_view::npos ? std::string_view{} : s.substr(sp + 1);

    while (!stack.empty() && stack.back().depth >= depth) {
      close(stack.back());
      stack.pop_back();
    }
    const bool is_node = starts(rest, "0x");
    std::string begin_file;
    int begin_line = is_node ? loc.scan(rest, begin_file) : -1;
    if (begin_file.empty()) begin_file = loc.file;
    Node* parent = stack.empty() ? nullptr : &stack.back();

    if (kind == "FullComment" && parent != nullptr && parent->depth == depth - 1) parent->documented = true;
    if (kind == "AccessSpecDecl" && parent != nullptr && parent->role == Node::Role::kRecord) {
      parent->is_public = has_word(rest, "public");
    }

    Node n;
    n.depth = depth;
    n.kind = kind;
    n.line = begin_line;
    n.file = begin_file;
    // Where are we? Declarations count only in namespaces, public record parts and templates.
    bool in_api = parent == nullptr ||
                  (parent->role == Node::Role::kNamespace) ||
                  (parent->role == Node::Role::kRecord && parent->is_public) ||
                  (parent->role == Node::Role::kTemplate);
    if (parent != nullptr && parent->role == Node::Role::kSkip) in_api = false;
    if (!is_node || !in_api) {
      n.role = Node::Role::kSkip;
      stack.push_back(n);
      continue;
    }
    const bool implicit = has_word(rest, "implicit");
    const bool redecl = rest.find(" prev 0x") != std::string_view::npos;
    const bool from_template = parent != nullptr && parent->role == Node::Role::kTemplate;
    std::string name = decl_name(rest);

    if (kind == "NamespaceDecl") {
      // "NamespaceDecl 0x.. <range> line:3:11 name" — anonymous ones have no name.
      const bool anon = name.empty() || starts(name, "line:") || starts(name, "col:") || name.find(':') != std::string::npos;
      const bool hidden = anon || name == "detail" || name == "internal" || name == "impl" ||
                          (name.size() > 7 && name.compare(name.size() - 7, 7, "_detail") == 0);
      n.role = hidden ? Node::Role::kSkip : Node::Role::kNamespace;
    } else if (kind == "LinkageSpecDecl" || kind == "TranslationUnitDecl") {
      n.role = Node::Role::kNamespace;
    } else if (kind == "CXXRecordDecl") {
      if (implicit) {
        n.role = Node::Role::kSkip;
      } else {
        n.role = Node::Role::kRecord;
        n.is_public = !has_word(rest, "class");  // struct/union start public
        const bool definition = has_word(rest, "definition");
        // A template's pattern shares the template's comment: the template is checked.
        n.check = definition && !from_template && !redecl;
        n.what = "type";
        if (from_template) parent->pattern_seen = true;
        // Names: "... line:5:8 struct Foo definition" -> the word before "definition".
        const auto d = rest.rfind(" definition");
        std::string_view h = d == std::string_view::npos ? rest : rest.substr(0, d);
        const auto s2 = h.rfind(' ');
        n.name = std::string(s2 == std::string_view::npos ? h : h.substr(s2 + 1));
        if (n.name == "struct" || n.name == "class" || n.name == "union") n.check = false;  // anonymous
      }
    } else if (kind == "ClassTemplateDecl" || kind == "FunctionTemplateDecl" || kind == "TypeAliasTemplateDecl") {
      n.role = Node::Role::kTemplate;
      n.check = !implicit && !redecl && !starts(name, "operator");
      n.what = kind == "ClassTemplateDecl" ? "class template" : kind == "FunctionTemplateDecl" ? "function template" : "alias template";
      n.name = name;
      // A member function template whose pattern is a constructor or an operator is exempt;
      // decided when its pattern arrives (below).
    } else if (kind == "EnumDecl" || kind == "TypeAliasDecl" || kind == "TypedefDecl" || kind == "ConceptDecl") {
      n.role = Node::Role::kSkip;  // members (enumerators) are not required
      n.check = !implicit && !redecl && !from_template;
      if (kind == "EnumDecl") {
        const auto c = rest.find(" class ");
        n.name = name;
        if (c != std::string_view::npos) n.name = decl_name(rest.substr(c + 7));
        if (n.name.find(':') != std::string::npos) n.check = false;  // anonymous enum
      } else {
        n.name = name;
      }
      n.what = kind == "EnumDecl" ? "enum" : kind == "ConceptDecl" ? "concept" : "alias";
      // Member aliases are the field layouts of registers and entries (`using Dpl =
      // BitField<45, 2>;`) and trait typedefs (`using Platform = P;`): named like fields.
      if (kind != "EnumDecl" && kind != "ConceptDecl" && parent != nullptr && parent->role == Node::Role::kRecord) {
        n.check = false;
      }
      if (from_template) parent->pattern_seen = true;
    } else if (kind == "FunctionDecl" || kind == "CXXMethodDecl" || kind == "CXXConstructorDecl" ||
               kind == "CXXDestructorDecl" || kind == "CXXConversionDecl" || kind == "CXXDeductionGuideDecl") {
      n.role = Node::Role::kSkip;  // bodies are not API
      n.name = name;
      const bool special = kind != "FunctionDecl" && kind != "CXXMethodDecl";
      const bool op = starts(name, "operator");
      const bool gone = has_word(rest, "delete") || has_word(rest, "default");
      if (from_template) {
        if (parent->pattern_seen) {
          n.check = false;  // an instantiation listed under its template
        } else {
          parent->pattern_seen = true;
          if (special || op || gone) parent->check = false;
        }
      } else {
        n.check = !implicit && !redecl && !special && !op && !gone;
      }
      n.what = kind == "FunctionDecl" ? "function" : "member function";
    } else if (kind == "ClassTemplateSpecializationDecl" || kind == "ClassTemplatePartialSpecializationDecl" ||
               kind == "FriendDecl" || kind == "UsingDecl" || kind == "UsingDirectiveDecl" ||
               kind == "StaticAssertDecl" || kind == "VarDecl" || kind == "FieldDecl" ||
               kind == "IndirectFieldDecl" || kind == "VarTemplateDecl" || kind == "UsingShadowDecl") {
      n.role = Node::Role::kSkip;
    } else {
      n.role = Node::Role::kSkip;
    }
    if (n.check) {
      const std::string* nm = checked_name(n.file);
      if (nm == nullptr) {
        n.check = false;
      } else {
        n.file = *nm;  // report by include name
        // The same header parsed in several translation units: count it once.
        if (!seen.insert({n.file, n.line, n.name}).second) {
          n.check = false;
          // ... but keep the earlier verdict: findings are a set keyed the same way.
        } else {
          ++checked;
        }
      }
    }
    // Templates delegate to the template node, so the pattern itself needs no check.
    stack.push_back(n);
  }
  while (!stack.empty()) {
    close(stack.back());
    stack.pop_back();
  }
  for (const auto& [file, line, what] : findings) std::printf("%s:%d: %s has no doc comment\n", file.c_str(), line, what.c_str());
  std::fprintf(stderr, "doccheck: %zu public declarations checked, %zu without a doc comment\n", checked,
               findings.size());
  return findings.empty() ? 0 : 1;
}
