# A witness for the apply queue: every apply replaces terraform_data.run (its trigger is the
# time of the apply), and its local-exec provisioner appends "start LABEL TIME" and, after
# var.sleep_seconds (and, when var.hold_until names a file, once that file exists), "end LABEL
# TIME" to var.log while terraform holds the state. Overlapping applies show as interleaved
# lines. Planning writes nothing.

variable "log" {
  type    = string
  default = "/dev/null"
}

variable "label" {
  type    = string
  default = "-"
}

variable "sleep_seconds" {
  type    = number
  default = 0
}

variable "hold_until" {
  type    = string
  default = ""
}

resource "terraform_data" "run" {
  triggers_replace = timestamp()

  provisioner "local-exec" {
    command = <<-EOT
      echo "start ${var.label} $(date +%s.%N)" >> '${var.log}'
      sleep ${var.sleep_seconds}
      if [ -n '${var.hold_until}' ]; then
        while [ ! -e '${var.hold_until}' ]; do sleep 0.1; done
      fi
      echo "end ${var.label} $(date +%s.%N)" >> '${var.log}'
    EOT
  }
}
