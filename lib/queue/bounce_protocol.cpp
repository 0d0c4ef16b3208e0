// The bounce protocol's encoding; see bounce_protocol.hpp.
#include "queue/bounce_protocol.hpp"

#include "queue/queue_id.hpp"

namespace postern {

namespace {

bool known_request(std::string_view word) {
    return word == bounce_request::flush || word == bounce_request::warn ||
           word == bounce_request::trace;
}

bool known_log(std::string_view log) {
    return log == "bounce" || log == "defer" || log == "trace";
}

}  // namespace

AttrList encode_bounce_request(const BounceRequest& request) {
    AttrList list;
    list.add_string("request", request.request)
        .add_string("queue_name", request.queue_name)
        .add_string("queue_id", request.queue_id)
        .add_string("log", request.log)
        .add_string("sender", request.sender)
        .add_string("encoding", request.encoding)
        .add_int("smtputf8", request.smtputf8)
        .add_string("dsn_envid", request.dsn_envid)
        .add_int("dsn_ret", request.dsn_ret);
    return list;
}

Result<BounceRequest> decode_bounce_request(const AttrList& message) {
    AttrReader reader(message, "bounce request");
    BounceRequest request;
    auto word = reader.string("request");
    auto queue_name = reader.string("queue_name");
    auto queue_id = reader.string("queue_id");
    auto log = reader.string("log");
    auto sender = reader.string("sender");
    auto encoding = reader.string("encoding");
    auto smtputf8 = reader.integer("smtputf8");
    auto envid = reader.string("dsn_envid");
    auto ret = reader.integer("dsn_ret");
    for (const Status& field :
         {Status(word ? Status() : word.error()),
          Status(queue_name ? Status() : queue_name.error()),
          Status(queue_id ? Status() : queue_id.error()), Status(log ? Status() : log.error()),
          Status(sender ? Status() : sender.error()),
          Status(encoding ? Status() : encoding.error()),
          Status(smtputf8 ? Status() : smtputf8.error()), Status(envid ? Status() : envid.error()),
          Status(ret ? Status() : ret.error()), reader.finish()})
        if (!field)
            return field.error();
    if (!known_request(*word) || !known_log(*log) || !queue_name_ok(*queue_name) ||
        !queue_id_ok(*queue_id))
        return Error(ErrorKind::protocol, "bounce request: bad request, log, queue or queue id");
    request.request = std::move(*word);
    request.queue_name = std::move(*queue_name);
    request.queue_id = std::move(*queue_id);
    request.log = std::move(*log);
    request.sender = std::move(*sender);
    request.encoding = std::move(*encoding);
    request.smtputf8 = *smtputf8;
    request.dsn_envid = std::move(*envid);
    request.dsn_ret = static_cast<int>(*ret & 3);
    return request;
}

AttrList encode_bounce_reply(const BounceReply& reply) {
    AttrList list;
    list.add_int("status", reply.status).add_string("reason", reply.reason);
    return list;
}

Result<BounceReply> decode_bounce_reply(const AttrList& message) {
    AttrReader reader(message, "bounce reply");
    auto status = reader.integer("status");
    auto reason = reader.string("reason");
    if (!status)
        return status.error();
    if (!reason)
        return reason.error();
    if (Status done = reader.finish(); !done)
        return done.error();
    return BounceReply{*status, std::move(*reason)};
}

}  // namespace postern
