// Values the API sends as identifiers ("no_answer", "visa"), in the words a person reads. An
// unknown value is shown with its underscores as spaces and a capital, never as a raw identifier.

const OUTCOMES = {
  open: 'Ringing',
  answered: 'Answered',
  busy: 'Busy',
  no_answer: 'No answer',
  cancelled: 'Cancelled by the caller',
  failed: 'Failed',
};

const CARD_BRANDS = {
  visa: 'Visa',
  mastercard: 'Mastercard',
  amex: 'American Express',
  discover: 'Discover',
  diners: 'Diners Club',
  jcb: 'JCB',
  unionpay: 'UnionPay',
  maestro: 'Maestro',
  other: 'Another card brand',
};

// "no_answer" → "No answer"; "" → "".
export function sentenceCase(text) {
  const words = String(text || '').replace(/_/g, ' ').trim();
  return words ? words.charAt(0).toUpperCase() + words.slice(1) : '';
}

export function outcomeWords(outcome) {
  return OUTCOMES[outcome] || sentenceCase(outcome);
}

export function cardBrandWords(brand) {
  return CARD_BRANDS[brand] || sentenceCase(brand);
}
