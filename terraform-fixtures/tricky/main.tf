# tricky: values that can break markdown / HTML rendering of a plan in a PR
# comment. Plans from empty state: 4 creates, 6 outputs.
locals {
  # 5,000 characters on one line, no spaces
  long_line = join("", [for i in range(500) : format("seg%03d-abc", i)])
}

resource "terraform_data" "markdown" {
  input = {
    backticks        = "use `terraform plan` then ``double`` ticks"
    fence            = "```\nfenced block inside a value\n```"
    fence_lang       = "````markdown\n```hcl\nnested = true\n```\n````"
    details_close    = "</details>"
    details_open     = "<details><summary>injected</summary>"
    script           = "<script>alert(1)</script>"
    pipes            = "| pipes | in | a | table |"
    heading          = "# Heading 1\n## Heading 2"
    html_comment     = "<!-- tfgate:marker -->"
    link             = "[click me](https://example.com/?a=1&b=<2>)"
    emphasis         = "*bold* _italic_ ~~strike~~ **strong**"
    backslashes      = "C:\\Users\\runner\\path\\*.tf"
    template_escapes = "literal $${not_interpolated} and %%{not_a_directive}"
  }
}

resource "terraform_data" "unicode" {
  input = {
    greeting = "Grüße 日本語 🚀"
    rtl      = "שלום مرحبا"
    combined = "e\u0301 (e + combining acute), 👩‍👩‍👧 (ZWJ family), 🇺🇳 (flag)"
    zero     = "zero\u200bwidth\u200bspaces"
    control  = "tab:\tbell-free; CR:\r; NUL-free"
  }
}

resource "terraform_data" "long" {
  input = local.long_line
}

resource "terraform_data" "multiline" {
  input = <<-EOT
    line one with `code`
    | a | b |
    |---|---|
    | 1 | 2 |
    </details>
    <script>alert("multi")</script>
    ```
    end
  EOT
}

output "backticks" {
  value = "```sh\nrm -rf / # `oops`\n```"
}

output "html" {
  value = "</details><script>alert(1)</script><img src=x onerror=alert(2)>"
}

output "pipes" {
  value = "| col1 | col2 |\n|------|------|\n| a | b |"
}

output "unicode" {
  value = "Grüße 日本語 🚀"
}

output "long_line" {
  value = local.long_line
}

output "heading" {
  value = "# not a heading\n---\n=== setext ==="
}
