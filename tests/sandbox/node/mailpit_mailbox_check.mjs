// Drives one mailbox of a capture server with the npm Mailpit client, mailpit-api, given the
// mailbox's base URL (http://127.0.0.1:PORT/m/NAME) and its password, and prints what the
// client read as one JSON document. Run by tests/sandbox/test_mailpit_client_mailboxes.py,
// which fills this mailbox and another first, and checks the other was never reached:
// node mailpit_mailbox_check.mjs BASE_URL USER PASSWORD OTHER_MAILBOX_MESSAGE_ID
import { MailpitClient } from "mailpit-api";

const [baseURL, username, password, otherID] = process.argv.slice(2);
if (!otherID) {
  console.error("usage: node mailpit_mailbox_check.mjs BASE_URL USER PASSWORD OTHER_ID");
  process.exit(2);
}
const mailpit = new MailpitClient(baseURL, { auth: { username, password } });
const stranger = new MailpitClient(baseURL);

async function failure(promise) {
  try {
    await promise;
    return null;
  } catch (error) {
    return error.message;
  }
}

const report = {};
report.withoutPassword = await failure(stranger.listMessages());
report.list = await mailpit.listMessages(0, 50);
report.search = await mailpit.searchMessages({ query: "subject:Shared" });
const first = report.search.messages[0].ID;
report.message = await mailpit.getMessageSummary(first);
report.headers = await mailpit.getMessageHeaders(first);
report.source = await mailpit.getMessageSource(first);
report.otherMessageError = await failure(mailpit.getMessageSummary(otherID));
report.otherSourceError = await failure(mailpit.getMessageSource(otherID));

report.setTagsReply = await mailpit.setTags({ IDs: [first], Tags: ["mine"] });
report.otherTagsError = await failure(mailpit.setTags({ IDs: [otherID], Tags: ["mine"] }));
report.tags = await mailpit.getTags();
report.renameReply = await mailpit.renameTag("mine", "ours");
report.tagsAfterRename = await mailpit.getTags();

report.markAllReadReply = await mailpit.setReadStatus({ Read: true });
report.afterMarkAllRead = await mailpit.listMessages();
report.deleteOtherReply = await mailpit.deleteMessages({ IDs: [otherID] });
report.deleteReply = await mailpit.deleteMessages({ IDs: [first] });
report.afterDelete = await mailpit.listMessages();
report.deleteBySearchReply = await mailpit.deleteMessagesBySearch({ query: "subject:Shared" });
report.afterDeleteBySearch = await mailpit.listMessages();
report.deleteAllReply = await mailpit.deleteMessages();
report.afterDeleteAll = await mailpit.listMessages();

console.log(JSON.stringify(report));
