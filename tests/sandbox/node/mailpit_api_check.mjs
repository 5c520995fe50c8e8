// Drives a capture server with the npm Mailpit client, mailpit-api, exactly as a Node test
// suite written for Mailpit would, and prints what the client read as one JSON document.
// Run by tests/sandbox/test_mailpit_clients.py, which sends the mail first and checks the
// output: node mailpit_api_check.mjs http://127.0.0.1:PORT
import { MailpitClient } from "mailpit-api";

const baseURL = process.argv[2];
if (!baseURL) {
  console.error("usage: node mailpit_api_check.mjs BASE_URL");
  process.exit(2);
}
const mailpit = new MailpitClient(baseURL);

async function failure(promise) {
  try {
    await promise;
    return null;
  } catch (error) {
    return error.message;
  }
}

const report = {};
report.list = await mailpit.listMessages(0, 50);
report.search = await mailpit.searchMessages({ query: "subject:Welcome" });
report.waited = await mailpit.waitForMessage(
  { query: "to:ann@example.com" },
  { timeout: 10000, interval: 100 },
);
report.latest = await mailpit.getMessageSummary();

const welcomeID = report.search.messages[0].ID;
report.message = await mailpit.getMessageSummary(welcomeID);
report.headers = await mailpit.getMessageHeaders(welcomeID);
report.source = await mailpit.getMessageSource(welcomeID);
const attachment = report.message.Attachments[0];
const blob = await mailpit.getMessageAttachment(welcomeID, attachment.PartID);
report.attachment = { size: blob.size, type: blob.type, text: await blob.text() };

report.markUnreadReply = await mailpit.setReadStatus({ IDs: [welcomeID], Read: false });
report.afterMarkUnread = await mailpit.listMessages();
report.markAllReadReply = await mailpit.setReadStatus({ Read: true });
report.afterMarkAllRead = await mailpit.listMessages();

const invoiceID = report.list.messages.find((m) => m.Subject === "Invoice").ID;
report.deleteReply = await mailpit.deleteMessages({ IDs: [invoiceID] });
report.afterDelete = await mailpit.listMessages();
report.missingMessageError = await failure(mailpit.getMessageSummary("no-such-message"));
report.deleteAllReply = await mailpit.deleteMessages();
report.afterDeleteAll = await mailpit.listMessages();

process.stdout.write(JSON.stringify(report));
