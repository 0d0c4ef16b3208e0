// The postdrop child of sendmail: command_directory/postdrop -r, with the message's records
// on its stdin and its replies on its stdout (lib/queue/maildrop.hpp), exactly as Postfix's
// sendmail runs its postdrop, so that either program works with the other's partner.
//
// sendmail runs as the submitting user; postdrop is set-gid setgid_group. The child gets a
// clean environment: only the export_environment variables (TZ MAIL_CONFIG LANG by
// default) and MAIL_CONFIG for the configuration sendmail uses. Its stderr is sendmail's,
// so postdrop's own fatal lines reach the user.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "queue/maildrop.hpp"
#include "util/file.hpp"
#include "util/result.hpp"

namespace postern::sendmail {

class PostdropProcess {
  public:
    // Forks and executes `path` with `arguments` (argv[0] included) and `environment`
    // ("NAME=value" strings). A failed exec is reported by the child ("fatal: execvp PATH:
    // ERROR") and shows as the child's exit status 1.
    static Result<PostdropProcess> start(const std::string& path,
                                         const std::vector<std::string>& arguments,
                                         const std::vector<std::string>& environment);

    PostdropProcess(PostdropProcess&& other) noexcept;
    PostdropProcess& operator=(PostdropProcess&&) = delete;
    // Closes the pipes and waits for the child if that was not done yet.
    ~PostdropProcess();

    // The child's first reply (protocol and queue_id).
    Result<PlainAttributes> read_reply();
    // Buffered record writes; the first failure is kept and returned by flush().
    void record(char type, std::string_view data);
    Status flush();
    // Closes the child's stdin: before the E record this cancels the submission.
    void close_input();
    // Waits for the child; its exit status (128 + N when killed by signal N), and a text
    // for messages: "exited with status 1", "killed by signal 9".
    int wait(std::string* description = nullptr);

  private:
    PostdropProcess(pid_t pid, Fd input, Fd output)
        : pid_(pid), input_(std::move(input)), output_(std::move(output)) {}

    pid_t pid_ = -1;
    Fd input_;   // the child's stdin
    Fd output_;  // the child's stdout
    std::string pending_;
    std::string reply_buffer_;
    Status write_status_;
    int exit_status_ = -1;
    std::string exit_description_;
};

}  // namespace postern::sendmail
