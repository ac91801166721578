//! The widget's own words in English, German, French, Spanish, Arabic and Hebrew. The agent's
//! messages come from the agent; these are the panel's labels around them.

/// Every string the panel shows or reads out.
#[derive(Debug, PartialEq, Eq)]
pub struct Strings {
    /// The input's accessible label.
    pub input_label: &'static str,
    /// The input's placeholder.
    pub placeholder: &'static str,
    /// The send button.
    pub send: &'static str,
    /// Read out while a reply is pending.
    pub typing: &'static str,
    /// No connection.
    pub offline: &'static str,
    /// The API failed.
    pub trouble: &'static str,
    /// A message waiting to be sent again.
    pub queued: &'static str,
    /// Thumbs up.
    pub helpful: &'static str,
    /// Thumbs down.
    pub not_helpful: &'static str,
    /// After a vote.
    pub thanks: &'static str,
    /// A human agent joined.
    pub agent_joined: &'static str,
    /// Suggested answers, for screen readers.
    pub suggestions: &'static str,
    /// Asked when the conversation ends.
    pub was_helpful: &'static str,
}

const EN: Strings = Strings {
    input_label: "Type your message",
    placeholder: "Type your message…",
    send: "Send",
    typing: "The assistant is typing",
    offline: "You're offline. Messages will be sent when the connection is back.",
    trouble: "The assistant is having trouble. Please try again.",
    queued: "Not sent yet",
    helpful: "Helpful",
    not_helpful: "Not helpful",
    thanks: "Thanks for your feedback!",
    agent_joined: "A member of our team joined the conversation.",
    suggestions: "Suggested replies",
    was_helpful: "Was this helpful?",
};

const DE: Strings = Strings {
    input_label: "Nachricht eingeben",
    placeholder: "Nachricht eingeben…",
    send: "Senden",
    typing: "Der Assistent schreibt",
    offline: "Sie sind offline. Nachrichten werden gesendet, sobald die Verbindung zurück ist.",
    trouble: "Der Assistent hat gerade Probleme. Bitte versuchen Sie es erneut.",
    queued: "Noch nicht gesendet",
    helpful: "Hilfreich",
    not_helpful: "Nicht hilfreich",
    thanks: "Danke für Ihr Feedback!",
    agent_joined: "Ein Mitglied unseres Teams ist dem Gespräch beigetreten.",
    suggestions: "Antwortvorschläge",
    was_helpful: "War das hilfreich?",
};

const FR: Strings = Strings {
    input_label: "Saisissez votre message",
    placeholder: "Saisissez votre message…",
    send: "Envoyer",
    typing: "L'assistant écrit",
    offline: "Vous êtes hors ligne. Les messages partiront dès le retour de la connexion.",
    trouble: "L'assistant rencontre un problème. Veuillez réessayer.",
    queued: "Pas encore envoyé",
    helpful: "Utile",
    not_helpful: "Pas utile",
    thanks: "Merci pour votre avis !",
    agent_joined: "Un membre de notre équipe a rejoint la conversation.",
    suggestions: "Réponses suggérées",
    was_helpful: "Cela vous a-t-il aidé ?",
};

const ES: Strings = Strings {
    input_label: "Escribe tu mensaje",
    placeholder: "Escribe tu mensaje…",
    send: "Enviar",
    typing: "El asistente está escribiendo",
    offline: "Estás sin conexión. Los mensajes se enviarán cuando vuelva la conexión.",
    trouble: "El asistente tiene problemas. Inténtalo de nuevo.",
    queued: "Aún no enviado",
    helpful: "Útil",
    not_helpful: "No útil",
    thanks: "¡Gracias por tu opinión!",
    agent_joined: "Un miembro de nuestro equipo se ha unido a la conversación.",
    suggestions: "Respuestas sugeridas",
    was_helpful: "¿Te ha sido útil?",
};

const AR: Strings = Strings {
    input_label: "اكتب رسالتك",
    placeholder: "اكتب رسالتك…",
    send: "إرسال",
    typing: "المساعد يكتب",
    offline: "أنت غير متصل. سيتم إرسال الرسائل عند عودة الاتصال.",
    trouble: "يواجه المساعد مشكلة. يرجى المحاولة مرة أخرى.",
    queued: "لم يُرسل بعد",
    helpful: "مفيد",
    not_helpful: "غير مفيد",
    thanks: "شكرًا على ملاحظاتك!",
    agent_joined: "انضم أحد أعضاء فريقنا إلى المحادثة.",
    suggestions: "ردود مقترحة",
    was_helpful: "هل كان هذا مفيدًا؟",
};

const HE: Strings = Strings {
    input_label: "הקלידו הודעה",
    placeholder: "הקלידו הודעה…",
    send: "שליחה",
    typing: "העוזר מקליד",
    offline: "אין חיבור. ההודעות יישלחו כשהחיבור יחזור.",
    trouble: "לעוזר יש בעיה. נסו שוב.",
    queued: "עדיין לא נשלח",
    helpful: "מועיל",
    not_helpful: "לא מועיל",
    thanks: "תודה על המשוב!",
    agent_joined: "נציג מהצוות שלנו הצטרף לשיחה.",
    suggestions: "תשובות מוצעות",
    was_helpful: "האם זה עזר?",
};

/// The strings for a locale (`de`, `de-AT`, …); English for any other.
pub fn strings(locale: &str) -> &'static Strings {
    match language(locale) {
        "de" => &DE,
        "fr" => &FR,
        "es" => &ES,
        "ar" => &AR,
        "he" | "iw" => &HE,
        _ => &EN,
    }
}

/// Whether the locale's script runs right to left.
pub fn is_rtl(locale: &str) -> bool {
    matches!(language(locale), "ar" | "he" | "iw" | "fa" | "ur")
}

fn language(locale: &str) -> &str {
    locale.split(['-', '_']).next().unwrap_or("en")
}
