// The trivial-rewrite service protocol and client (see rewrite_protocol.hpp).
#include "mail/rewrite_protocol.hpp"

#include "mail/address.hpp"

namespace postern {
namespace {

Error protocol_error(std::string text) {
    return Error(ErrorKind::protocol, std::move(text));
}

Result<std::string> bounded_string(AttrReader& reader, std::string_view name) {
    Result<std::string> value = reader.string(name);
    if (!value)
        return value.error();
    if (value->size() > kMaxRewriteAddressLength)
        return protocol_error("trivial-rewrite request: attribute \"" + std::string(name) +
                              "\" is too long");
    return value;
}

Result<RewriteServiceRequest> parse_rewrite(AttrReader& reader) {
    RewriteServiceRequest parsed;
    parsed.kind = RewriteServiceRequest::Kind::rewrite;
    Result<std::string> rule = bounded_string(reader, "rule");
    if (!rule)
        return rule.error();
    std::optional<RewriteContext> context = rewrite_context_from_name(*rule);
    if (!context)
        return protocol_error("unknown context: " + rule->substr(0, 100));
    parsed.rule = *context;
    Result<std::string> address = bounded_string(reader, "address");
    if (!address)
        return address.error();
    parsed.address = std::move(*address);
    return parsed;
}

Result<RewriteServiceRequest> parse_resolve(AttrReader& reader, ResolveRequest request) {
    RewriteServiceRequest parsed;
    parsed.kind = RewriteServiceRequest::Kind::resolve;
    parsed.resolve = request;
    Result<std::string> sender = bounded_string(reader, "sender");
    if (!sender)
        return sender.error();
    Result<std::string> address = bounded_string(reader, "address");
    if (!address)
        return address.error();
    parsed.sender = std::move(*sender);
    parsed.address = std::move(*address);
    return parsed;
}

}  // namespace

AttrList make_rewrite_request(RewriteContext rule, std::string_view external_address) {
    AttrList list;
    list.add_string("request", "rewrite")
        .add_string("rule", rewrite_context_name(rule))
        .add_string("address", std::string(external_address));
    return list;
}

AttrList make_resolve_request(ResolveRequest request, std::string_view sender,
                              std::string_view recipient) {
    AttrList list;
    list.add_string("request", resolve_request_name(request))
        .add_string("sender", std::string(sender))
        .add_string("address", std::string(recipient));
    return list;
}

Result<RewriteServiceRequest> parse_rewrite_service_request(AttrList message) {
    AttrReader reader(std::move(message), "trivial-rewrite request");
    Result<std::string> name = reader.string("request");
    if (!name)
        return name.error();
    Result<RewriteServiceRequest> parsed = protocol_error("");
    if (*name == "rewrite") {
        parsed = parse_rewrite(reader);
    } else if (std::optional<ResolveRequest> request = resolve_request_from_name(*name)) {
        parsed = parse_resolve(reader, *request);
    } else {
        return protocol_error("unknown request: " + name->substr(0, 100));
    }
    if (!parsed)
        return parsed;
    if (Status done = reader.finish(); !done)
        return done.error();
    return parsed;
}

AttrList make_rewrite_reply(int64_t server_flags, std::string_view external_address) {
    AttrList list;
    list.add_int("server_flags", server_flags).add_string("address", std::string(external_address));
    return list;
}

AttrList make_resolve_reply(int64_t server_flags, const ResolveReply& reply) {
    AttrList list;
    list.add_int("server_flags", server_flags)
        .add_string("transport", reply.transport)
        .add_string("nexthop", reply.nexthop)
        .add_string("recipient", reply.recipient)
        .add_int("flags", reply.flags);
    return list;
}

// ---- The client ----

Result<AttrList> RewriteServiceClient::exchange(const AttrList& request) {
    for (int attempt = 0;; ++attempt) {
        bool fresh = !channel_.has_value();
        if (fresh) {
            Result<AttrChannel> connected = connect_attr_service(socket_path_, timeout_);
            if (!connected)
                return connected.error();
            channel_.emplace(std::move(*connected));
        }
        Result<AttrList> reply = channel_->request(request, timeout_);
        if (reply.ok())
            return reply;
        // A kept connection may have been closed by a service that exited meanwhile
        // (max_idle, max_use): one new connection, then the error stands.
        bool retry = !fresh && attempt == 0 && channel_->peer_closed();
        channel_.reset();
        if (!retry)
            return reply.error();
    }
}

Result<std::string> RewriteServiceClient::rewrite_external(RewriteContext rule,
                                                           std::string_view external_address) {
    Result<AttrList> reply = exchange(make_rewrite_request(rule, external_address));
    if (!reply)
        return reply.error();
    AttrReader reader(std::move(*reply), "trivial-rewrite reply");
    Result<int64_t> server_flags = reader.integer("server_flags");
    if (!server_flags)
        return server_flags.error();
    Result<std::string> address = reader.string("address");
    if (!address)
        return address.error();
    if (Status done = reader.finish(); !done)
        return done.error();
    if (*server_flags & kServerFlagReconnect)
        channel_.reset();
    return address;
}

Result<std::string> RewriteServiceClient::rewrite(RewriteContext rule,
                                                  std::string_view internal_address) {
    Result<std::string> external = rewrite_external(rule, externalize_address(internal_address));
    if (!external)
        return external.error();
    return internalize_address(*external);
}

Result<ResolveReply> RewriteServiceClient::resolve(std::string_view sender,
                                                   std::string_view recipient,
                                                   ResolveRequest request) {
    Result<AttrList> reply = exchange(make_resolve_request(request, sender, recipient));
    if (!reply)
        return reply.error();
    AttrReader reader(std::move(*reply), "trivial-rewrite reply");
    Result<int64_t> server_flags = reader.integer("server_flags");
    Result<std::string> transport = reader.string("transport");
    Result<std::string> nexthop = reader.string("nexthop");
    Result<std::string> rcpt = reader.string("recipient");
    Result<int64_t> flags = reader.integer("flags");
    for (const Status& each : {server_flags.ok() ? Status() : Status(server_flags.error()),
                               transport.ok() ? Status() : Status(transport.error()),
                               nexthop.ok() ? Status() : Status(nexthop.error()),
                               rcpt.ok() ? Status() : Status(rcpt.error()),
                               flags.ok() ? Status() : Status(flags.error()), reader.finish()}) {
        if (!each)
            return each.error();
    }
    if (*server_flags & kServerFlagReconnect)
        channel_.reset();
    return ResolveReply{std::move(*transport), std::move(*nexthop), std::move(*rcpt),
                        static_cast<uint32_t>(*flags)};
}

}  // namespace postern
